using System.Text.Json.Nodes;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.Domain;

/// <summary>A deployment's overrides: compared by content, stored with the service, absent from older records.</summary>
internal sealed class ServiceOverridesStorageTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.UnixEpoch;

    private static TaskOverrides Overrides(string command = "serve", int memory = 256, string mode = "web") =>
        new([new ContainerOverrides("app", [command, "--port", "80"], [new EnvironmentEntry("MODE", mode)], Cpu: 128, Memory: memory)], 0, 1024);

    private static ServiceRecord Service(TaskOverrides? overrides) => new()
    {
        Cluster = "default",
        Name = "web",
        DesiredCount = 2,
        Strategies = [],
        Constraints = [],
        Deployments = [new DeploymentRecord("ecs-svc/1", "web:1", DeploymentStatus.Primary, RolloutState.InProgress, "deployment in progress", 0, At, At, overrides)],
        CreatedAt = At,
    };

    [Test]
    public void Overrides_are_the_same_by_content_not_by_instance()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TaskOverrides.Same(Overrides(), Overrides()), Is.True, "equal lists, different instances");
            Assert.That(TaskOverrides.Same(null, null), Is.True);
            Assert.That(TaskOverrides.Same(Overrides(), null), Is.False);
            Assert.That(TaskOverrides.Same(null, Overrides()), Is.False);
            Assert.That(TaskOverrides.Same(Overrides(), Overrides(command: "work")), Is.False, "the command");
            Assert.That(TaskOverrides.Same(Overrides(), Overrides(memory: 300)), Is.False, "a container's memory");
            Assert.That(TaskOverrides.Same(Overrides(), Overrides(mode: "batch")), Is.False, "an environment value");
            Assert.That(TaskOverrides.Same(Overrides(), Overrides() with { Memory = 2048 }), Is.False, "the task's memory");
            Assert.That(TaskOverrides.Same(Overrides(), Overrides() with { Containers = [] }), Is.False, "the containers");
        });
    }

    [Test]
    public void A_deployment_keeps_its_overrides_in_the_store_and_an_older_record_has_none()
    {
        var service = Service(Overrides());
        var stored = (ServiceRecord)StoreTables.Services.Read(StoreTables.Services.Write(service), service.Key);

        // A record written before deployments had overrides: the property is not there at all.
        var older = JsonNode.Parse(StoreTables.Services.Write(Service(null)))!.AsObject();
        var deployment = older[nameof(ServiceRecord.Deployments)]![0]!.AsObject();
        Assert.That(deployment.ContainsKey(nameof(DeploymentRecord.Overrides)), Is.False, "nulls are left out");
        var fromOlder = (ServiceRecord)StoreTables.Services.Read(older.ToJsonString(), service.Key);
        Assert.Multiple(() =>
        {
            Assert.That(TaskOverrides.Same(stored.Primary.Overrides, service.Primary.Overrides), Is.True);
            Assert.That(stored.Primary.Overrides!.Containers[0].Command, Is.EqualTo(new[] { "serve", "--port", "80" }));
            Assert.That(fromOlder.Primary.Overrides, Is.Null);
            Assert.That(fromOlder.Primary.TaskDefinitionArn, Is.EqualTo("web:1"));
        });
    }
}
