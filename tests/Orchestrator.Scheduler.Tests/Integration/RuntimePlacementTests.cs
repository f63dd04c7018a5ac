using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// The node attribute "runtime" in a running scheduler: a task with features only Docker runs goes to a
/// Docker node and never to a containerd one, fails with the runtime's words where only containerd
/// nodes are, and users' own constraints on the attribute work as on any attribute.
/// </summary>
internal sealed class RuntimePlacementTests : SchedulerTest
{
    private static Dictionary<string, string> Runtime(string runtime) => new() { ["runtime"] = runtime, ["runtime-version"] = "1.6.20" };

    private static RegisterTaskDefinitionRequest WithLinks()
    {
        var definition = WebDefinition();
        definition.ContainerDefinitions[0].Essential = false;
        var sidecar = definition.ContainerDefinitions[0].Clone();
        sidecar.Name = "web";
        sidecar.Essential = true;
        sidecar.Links.Add("app");
        sidecar.PortMappings.Clear();
        definition.ContainerDefinitions.Add(sidecar);
        return definition;
    }

    [Test]
    public async Task RunTask_puts_a_docker_only_task_on_the_docker_node()
    {
        await RegisterAsync(WithLinks());

        // The containerd node has the most room: the best fit for a task that runs on both.
        await using var containerd = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", memory: 65536, attributes: Runtime("containerd"));
        await using var docker = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", attributes: Runtime("docker"));

        var placed = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3 });
        Assert.That(placed.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n2", "n2", "n2" }));
    }

    [Test]
    public async Task A_docker_only_task_with_only_containerd_nodes_fails_naming_the_runtime()
    {
        await RegisterAsync(WithLinks());
        await using var first = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Runtime("containerd"));
        await using var second = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", attributes: Runtime("containerd"));

        var refused = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var started = await Host.Tasks.StartTaskAsync(new StartTaskRequest { TaskDefinition = "web", Nodes = { "n1" } });
        const string Words = "runtime containerd cannot run containerDefinitions[web].links (needs docker)";
        Assert.Multiple(() =>
        {
            Assert.That(refused.Tasks, Is.Empty);
            Assert.That((refused.Failures.Single().Reason, refused.Failures.Single().Detail), Is.EqualTo(("CONSTRAINT", $"2 nodes: {Words}")));
            Assert.That(started.Failures.Select(f => (f.Subject, f.Reason, f.Detail)), Is.EqualTo(new[] { ("n1", "CONSTRAINT", $"1 node: {Words}") }));
        });
    }

    [Test]
    public async Task A_task_that_runs_on_both_goes_to_containerd_too_and_a_users_constraint_picks_the_runtime()
    {
        await RegisterAsync();
        await using var containerd = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", memory: 65536, attributes: Runtime("containerd"));
        await using var docker = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", memory: 65536, attributes: Runtime("docker"));

        var anywhere = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 4, PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } } });
        var onContainerd = await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            Count = 2,
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:runtime == containerd" } },
        });
        Assert.Multiple(() =>
        {
            Assert.That(anywhere.Tasks.Select(t => t.Node).Distinct().Order(), Is.EqualTo(new[] { "n1", "n2" }));
            Assert.That(onContainerd.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n1", "n1" }));
        });
    }
}
