using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// What a task definition itself says about where its tasks may run: its placementConstraints, added to
/// the request's or the service's, and what its containers and volumes need of the node's policy.
/// </summary>
internal sealed class DefinitionPlacementTests : SchedulerTest
{
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private static PlacementConstraint MemberOf(string expression) => new() { Type = "memberOf", Expression = expression };

    private static Dictionary<string, string> Attributes(string zone, string disk) => new() { ["zone"] = zone, ["disk"] = disk };

    private static RegisterTaskDefinitionRequest InZoneA()
    {
        var definition = WebDefinition();
        definition.PlacementConstraints.Add(MemberOf("attribute:zone == a"));
        return definition;
    }

    private static RegisterTaskDefinitionRequest Privileged()
    {
        var definition = WebDefinition();
        definition.ContainerDefinitions[0].Privileged = true;
        return definition;
    }

    private static RegisterTaskDefinitionRequest WithHostVolume(string sourcePath)
    {
        var definition = WebDefinition();
        definition.Volumes.Add(new Volume { Name = "data", Host = new HostVolumeProperties { SourcePath = sourcePath } });
        definition.ContainerDefinitions[0].MountPoints.Add(new MountPoint { SourceVolume = "data", ContainerPath = "/data" });
        return definition;
    }

    [Test]
    public async Task RunTask_places_with_the_definitions_constraints_and_its_own()
    {
        await RegisterAsync(InZoneA());
        await using var hdd = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Attributes("a", "hdd"));
        await using var otherZone = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", attributes: Attributes("b", "ssd"));
        await using var both = await SimulatedAgent.ConnectAsync(Host.Agents, "n3", attributes: Attributes("a", "ssd"));

        var definitionOnly = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 4, PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } } });
        var withRequest = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, PlacementConstraints = { MemberOf("attribute:disk == ssd") } });
        var contradicting = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PlacementConstraints = { MemberOf("name == n2") } });
        Assert.Multiple(() =>
        {
            Assert.That(definitionOnly.Tasks.Select(t => t.Node).Distinct().Order(), Is.EqualTo(new[] { "n1", "n3" }), "spread over zone a only");
            Assert.That(withRequest.Tasks.Select(t => t.Node), Is.All.EqualTo("n3"), "zone a and ssd");
            Assert.That(contradicting.Tasks, Is.Empty);
            Assert.That((contradicting.Failures.Single().Reason, contradicting.Failures.Single().Detail),
                Is.EqualTo(("CONSTRAINT", "2 nodes: memberOf(name == n2); 1 node: memberOf(attribute:zone == a)")));
        });
    }

    [Test]
    public async Task StartTask_checks_the_definitions_constraints_on_each_node()
    {
        await RegisterAsync(InZoneA());
        await using var zoneA = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Attributes("a", "hdd"));
        await using var zoneB = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", attributes: Attributes("b", "hdd"));

        var result = await Host.Tasks.StartTaskAsync(new StartTaskRequest { TaskDefinition = "web", Nodes = { "n1", "n2" } });
        Assert.Multiple(() =>
        {
            Assert.That(result.Tasks.Single().Node, Is.EqualTo("n1"));
            Assert.That(result.Failures.Select(f => (f.Subject, f.Reason, f.Detail)), Is.EqualTo(new[] { ("n2", "CONSTRAINT", "1 node: memberOf(attribute:zone == a)") }));
        });
    }

    [Test]
    public async Task A_services_tasks_are_placed_with_the_definitions_constraints_and_its_own()
    {
        await RegisterAsync(InZoneA());
        await using var hdd = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Attributes("a", "hdd"));
        await using var otherZone = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", attributes: Attributes("b", "ssd"));
        await using var both = await SimulatedAgent.ConnectAsync(Host.Agents, "n3", attributes: Attributes("a", "ssd"));

        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 3, PlacementConstraints = { MemberOf("attribute:disk == ssd") } });
        var ids = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web" })).TaskIds;
        var tasks = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks;
        Assert.That(tasks.Select(t => t.Node), Is.EqualTo(new[] { "n3", "n3", "n3" }));
    }

    [Test]
    public async Task A_daemon_service_wants_only_the_nodes_its_definition_allows()
    {
        await RegisterAsync(Privileged());
        await using var plain = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await using var allowing = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", policy: new NodePolicy { AllowPrivileged = true });

        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "agent", TaskDefinition = "web", SchedulingStrategy = "DAEMON" });
        var ids = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "agent" })).TaskIds;
        var tasks = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks;
        Assert.That(tasks.Select(t => t.Node), Is.EqualTo(new[] { "n2" }), "only n2 allows privileged containers");
    }

    [Test]
    public async Task A_privileged_task_runs_only_where_the_agent_allows_it()
    {
        await RegisterAsync(Privileged());
        await using var plain = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", memory: 65536);
        await using var paths = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", memory: 65536, policy: new NodePolicy { AllowedHostPaths = { "/srv" } });

        var nowhere = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        await using var allowing = await SimulatedAgent.ConnectAsync(Host.Agents, "n3", policy: new NodePolicy { AllowPrivileged = true });
        var placed = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2 });
        var started = await Host.Tasks.StartTaskAsync(new StartTaskRequest { TaskDefinition = "web", Nodes = { "n1", "n3" } });
        Assert.Multiple(() =>
        {
            Assert.That(nowhere.Tasks, Is.Empty);
            Assert.That((nowhere.Failures.Single().Reason, nowhere.Failures.Single().Detail), Is.EqualTo(("POLICY", "2 nodes: privileged containers are not allowed (Agent:AllowPrivileged)")));
            Assert.That(placed.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n3", "n3" }), "n1 and n2 have more room, but do not allow it");
            Assert.That(started.Tasks.Single().Node, Is.EqualTo("n3"));
            Assert.That(started.Failures.Select(f => (f.Subject, f.Reason, f.Detail)), Is.EqualTo(new[] { ("n1", "POLICY", "1 node: privileged containers are not allowed (Agent:AllowPrivileged)") }));
        });
    }

    [Test]
    public async Task A_host_volume_goes_only_to_a_node_that_allows_a_directory_it_lies_under()
    {
        await RegisterAsync(WithHostVolume("/srv/data/db"));
        await using var none = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", memory: 65536);
        await using var lookalike = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", memory: 65536, policy: new NodePolicy { AllowPrivileged = true, AllowedHostPaths = { "/srv/dat", "/srv/data2" } });

        var nowhere = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        await using var allowing = await SimulatedAgent.ConnectAsync(Host.Agents, "n3", policy: new NodePolicy { AllowedHostPaths = { "/opt", "/srv/data/" } });
        var placed = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        Assert.Multiple(() =>
        {
            Assert.That((nowhere.Failures.Single().Reason, nowhere.Failures.Single().Detail),
                Is.EqualTo(("POLICY", "2 nodes: host path /srv/data/db is outside the node's Agent:AllowedHostPaths")));
            Assert.That(placed.Tasks.Single().Node, Is.EqualTo("n3"));
        });
    }

    [Test]
    public async Task An_agent_that_registers_again_with_other_settings_changes_its_nodes_policy()
    {
        await RegisterAsync(Privileged());
        var first = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", policy: new NodePolicy { AllowPrivileged = true });
        var allowed = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        await first.DisposeAsync();

        await using var again = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var refused = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        Assert.Multiple(() =>
        {
            Assert.That(allowed.Tasks.Single().Node, Is.EqualTo("n1"));
            Assert.That(refused.Failures.Single().Reason, Is.EqualTo("POLICY"));
        });
    }

    [Test]
    public void A_policy_with_a_relative_host_path_is_refused()
    {
        var refused = Assert.ThrowsAsync<RpcException>(async () =>
            await SimulatedAgent.ConnectAsync(Host.Agents, "n1", policy: new NodePolicy { AllowedHostPaths = { "/srv", "data" } }))!;
        Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "register.policy.allowedHostPaths[1]: \"data\" is not an absolute path")));
    }
}
