using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using PlacementConstraint = Orchestrator.Scheduler.Placement.PlacementConstraint;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>
/// A RunTask group is placed against a scratch view: each request sees the room, the host ports and the
/// group counts the earlier ones took, though memory changes only when the group is committed.
/// </summary>
internal sealed class RunTaskScratchTests
{
    private static ClusterState StateWith(int nodes, PortRequest[] ports)
    {
        var state = new ClusterState(new InMemoryStateStore(), new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        for (var i = 1; i <= nodes; i++)
        {
            state.RegisterAgent(new AgentRegistration("default", $"n{i}", 4096, 4096, new Dictionary<string, string>(), "test"), new RecordingSession(), []);
        }

        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = "web" };
        var container = new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 };
        container.PortMappings.AddRange(ports.Select(p => new PortMapping { ContainerPort = p.ContainerPort, HostPort = p.HostPort }));
        definition.ContainerDefinitions.Add(container);
        state.RegisterTaskDefinition(definition, new TaskResourceDemand(0, 64, ports));
        return state;
    }

    private static RunTaskCommand Run(IReadOnlyList<PlacementConstraint>? constraints = null, string group = "") =>
        new("default", "web", 1, [new PlacementStrategy(StrategyKind.BinpackMemory)], constraints ?? [], "", group, "", "");

    [Test]
    public void A_static_host_port_taken_earlier_in_the_group_is_taken()
    {
        var state = StateWith(nodes: 1, [new PortRequest("app", 80, 8080, Protocol.Tcp)]);
        var results = state.RunTasks([Run(), Run()]);
        Assert.Multiple(() =>
        {
            Assert.That(results[0].Outcome!.Tasks, Has.Count.EqualTo(1));
            Assert.That(results[1].Outcome!.Failures.Single().Reason, Is.EqualTo("RESOURCE:PORTS"));
        });
    }

    [Test]
    public void Dynamic_host_ports_given_earlier_in_the_group_are_not_given_again()
    {
        var state = StateWith(nodes: 1, [new PortRequest("app", 80, 0, Protocol.Tcp)]);
        var results = state.RunTasks([Run(), Run(), Run()]);
        var ports = results.Select(r => r.Outcome!.Tasks.Single().HostPorts.Single().Port).ToList();
        Assert.That(ports, Is.Unique);
    }

    [Test]
    public void Distinct_instance_counts_the_groups_tasks_placed_earlier_in_the_group()
    {
        var state = StateWith(nodes: 2, []);
        var distinct = new PlacementConstraint[] { new DistinctInstanceConstraint() };
        var results = state.RunTasks([Run(distinct, "g"), Run(distinct, "g"), Run(distinct, "g")]);
        Assert.Multiple(() =>
        {
            Assert.That(results.Take(2).Select(r => r.Outcome!.Tasks.Single().Node), Is.EquivalentTo(new[] { "n1", "n2" }));
            Assert.That(results[2].Outcome!.Failures.Single().Reason, Is.EqualTo("CONSTRAINT"));
        });
    }
}
