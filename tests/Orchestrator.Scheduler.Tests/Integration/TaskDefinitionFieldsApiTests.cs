using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Validation;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>Issue 13's task definition fields over the API: kept as given, and host mode's ports reserved on the node.</summary>
internal sealed class TaskDefinitionFieldsApiTests : SchedulerTest
{
    [Test]
    public async Task Every_new_field_is_described_back_as_registered_also_after_a_restart()
    {
        var request = FullDefinition.Request();
        var registered = (await Host.TaskDefinitions.RegisterTaskDefinitionAsync(request)).TaskDefinition;
        var described = await DescribeShopAsync();
        RestartScheduler();
        var reloaded = await DescribeShopAsync();
        Assert.Multiple(() =>
        {
            foreach (var (definition, when) in new[] { (registered, "registered"), (described, "described"), (reloaded, "described after a restart") })
            {
                Assert.That(definition.Volumes, Is.EqualTo(request.Volumes), when);
                Assert.That(definition.NetworkMode, Is.EqualTo(request.NetworkMode), when);
                Assert.That(definition.PlacementConstraints, Is.EqualTo(request.PlacementConstraints), when);
                Assert.That(definition.ContainerDefinitions, Is.EqualTo(request.ContainerDefinitions), when);
            }

            Assert.That(reloaded, Is.EqualTo(described), "the stored spec is the proto's bytes");
        });
    }

    [Test]
    public async Task A_bad_new_field_is_refused_with_its_name_and_nothing_is_registered()
    {
        var request = FullDefinition.Request();
        request.ContainerDefinitions[1].MountPoints[0].SourceVolume = "data2";
        var error = Refused(() => Host.TaskDefinitions.RegisterTaskDefinitionAsync(request).ResponseAsync);
        var families = await Host.TaskDefinitions.ListTaskDefinitionFamiliesAsync(new ListTaskDefinitionFamiliesRequest());
        Assert.Multiple(() =>
        {
            Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "containerDefinitions[1].mountPoints[0].sourceVolume: no volume named \"data2\" in volumes")));
            Assert.That(families.Families, Is.Empty);
        });
    }

    [Test]
    public async Task In_host_mode_a_task_reserves_its_container_port_on_the_node()
    {
        var definition = WebDefinition();
        definition.NetworkMode = "host";
        definition.ContainerDefinitions[0].PortMappings[0].ContainerPort = 8080;
        await RegisterAsync(definition);
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");

        var first = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var start = (await agent.NextCommandAsync()).StartTask;
        var second = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var node = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That(first.Failures, Is.Empty);
            Assert.That(start.PortBindings.Single().HostPort, Is.EqualTo(8080), "hostPort 0 in host mode is the container port, not a dynamic one");
            Assert.That(node.PortsInUse.Single().Port, Is.EqualTo(8080));
            Assert.That(second.Tasks, Is.Empty);
            Assert.That(second.Failures.Single().Reason, Is.EqualTo("RESOURCE:PORTS"), "a second copy would need the same node port");
        });
    }

    private async Task<TaskDefinition> DescribeShopAsync() =>
        (await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "shop:1" })).TaskDefinition;
}
