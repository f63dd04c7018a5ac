using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Constraints;
using static Orchestrator.Scheduler.Tests.Placement.Cluster;

namespace Orchestrator.Scheduler.Tests.Placement;

internal sealed class PlacementEngineTests
{
    private static readonly PlacementStrategy BinpackCpu = new(StrategyKind.BinpackCpu);
    private static readonly PlacementStrategy BinpackMemory = new(StrategyKind.BinpackMemory);
    private static readonly PlacementStrategy SpreadNode = new(StrategyKind.SpreadNode);
    private static readonly PlacementStrategy RandomStrategy = new(StrategyKind.Random);

    private static MemberOfConstraint MemberOf(string expression) => new(expression, ConstraintParser.Parse(expression));

    // ---- filters -----------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> FilterCases()
    {
        yield return new TestCaseData(Of(Node("a", status: NodeState.Draining), Node("b")), Request()).Returns("b").SetName("draining node is skipped");
        yield return new TestCaseData(Of(Node("a", status: NodeState.Inactive), Node("b")), Request()).Returns("b").SetName("inactive node is skipped");
        yield return new TestCaseData(Of(Node("a", connected: false), Node("b")), Request()).Returns("b").SetName("disconnected node is skipped");
        yield return new TestCaseData(Of(Node("a", cpu: 1024, usedCpu: 900), Node("b")), Request(cpu: 256)).Returns("b").SetName("node without cpu is skipped");
        yield return new TestCaseData(Of(Node("a", memory: 1024, usedMemory: 700), Node("b")), Request(memory: 512)).Returns("b").SetName("node without memory is skipped");
        yield return new TestCaseData(Of(Node("a", tcpPortsInUse: [80]), Node("b")), Request(ports: Port(80, 80))).Returns("b").SetName("node with the static port taken is skipped");
        yield return new TestCaseData(Of(Node("a", tcpPortsInUse: [80]), Node("b", cpu: 8192)), Request(ports: Port(80, 80, Protocol.Udp))).Returns("a").SetName("udp port is free where only tcp is taken");
        yield return new TestCaseData(
            Of(Node("a", attributes: new() { ["zone"] = "a" }), Node("b", attributes: new() { ["zone"] = "b" })),
            Request(constraints: [MemberOf("attribute:zone == b")])).Returns("b").SetName("memberOf keeps only matching nodes");
        yield return new TestCaseData(
            Of(Node("a", groups: new() { ["family:web"] = 1 }), Node("b", cpu: 8192)),
            Request(constraints: [new DistinctInstanceConstraint()])).Returns("b").SetName("distinctInstance skips a node that runs the group");
        yield return new TestCaseData(Of(Node("a", cpu: 1024, usedCpu: 768), Node("b")), Request(cpu: 256)).Returns("a").SetName("a node filled exactly still fits");
    }

    [TestCaseSource(nameof(FilterCases))]
    public string Filter_decides_which_node_can_take_the_task(ClusterSnapshot snapshot, PlacementRequest request)
    {
        var result = PlacementEngine.Place(request, snapshot, seed: 1);
        Assert.That(result.Failed, Is.Empty);
        return result.Placed.Single().Node;
    }

    // ---- strategies --------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> StrategyCases()
    {
        var uneven = Of(Node("roomy", cpu: 4096, memory: 1024), Node("tight", cpu: 1024, memory: 8192));
        yield return new TestCaseData(uneven, Request(strategies: [BinpackCpu])).Returns(new[] { "tight" }).SetName("binpack cpu picks the least cpu left");
        yield return new TestCaseData(uneven, Request(strategies: [BinpackMemory])).Returns(new[] { "roomy" }).SetName("binpack memory picks the least memory left");

        yield return new TestCaseData(
            Of(Node("a", groups: new() { ["family:web"] = 2 }), Node("b", groups: new() { ["family:web"] = 2 }), Node("c")),
            Request(count: 2, strategies: [SpreadNode])).Returns(new[] { "c", "c" }).SetName("spread counts tasks already running");

        var zones = Of(
            Node("a1", attributes: new() { ["zone"] = "a" }),
            Node("a2", usedMemory: 1024, attributes: new() { ["zone"] = "a" }),
            Node("b1", attributes: new() { ["zone"] = "b" }));
        yield return new TestCaseData(zones, Request(count: 4, strategies: [new PlacementStrategy(StrategyKind.SpreadAttribute, "zone"), BinpackMemory]))
            .Returns(new[] { "a2", "b1", "a2", "b1" }).SetName("spread over zone then binpack within the zone");

        yield return new TestCaseData(
            Of(Node("a", memory: 4096), Node("b", memory: 2048), Node("c", memory: 2048, usedMemory: 1024)),
            Request(count: 2, memory: 1024, strategies: [BinpackMemory])).Returns(new[] { "c", "b" }).SetName("binpack fills the fullest node first");

        // Default: combined fit. Node "balanced" ends with cpu and memory equally used; "lopsided" would
        // strand its memory (cpu full, memory mostly free).
        yield return new TestCaseData(
            Of(Node("lopsided", cpu: 1024, memory: 8192), Node("balanced", cpu: 2048, memory: 2048)),
            Request(cpu: 1024, memory: 1024)).Returns(new[] { "balanced" }).SetName("default fit avoids stranding memory");
        yield return new TestCaseData(
            Of(Node("empty"), Node("half", usedCpu: 2048, usedMemory: 4096)),
            Request()).Returns(new[] { "half" }).SetName("default fit packs onto the fuller node");
    }

    [TestCaseSource(nameof(StrategyCases))]
    public string[] Strategy_orders_the_nodes(ClusterSnapshot snapshot, PlacementRequest request)
    {
        var result = PlacementEngine.Place(request, snapshot, seed: 7);
        Assert.That(result.Failed, Is.Empty);
        return NodesOf(result);
    }

    [Test]
    public void Spread_over_nodes_puts_one_task_on_each()
    {
        var result = PlacementEngine.Place(Request(count: 3, strategies: [SpreadNode]), Of(Node("a"), Node("b"), Node("c")), seed: 3);
        Assert.That(NodesOf(result), Is.EquivalentTo(new[] { "a", "b", "c" }));
    }

    [Test]
    public void Spread_chain_then_ties_are_broken_by_the_seed_not_by_node_order()
    {
        var snapshot = Of([.. Enumerable.Range(0, 8).Select(i => Node($"n{i}"))]);
        var firstPicks = Enumerable.Range(0, 40)
            .Select(seed => PlacementEngine.Place(Request(strategies: [SpreadNode]), snapshot, (ulong)seed).Placed.Single().Node)
            .ToHashSet();
        Assert.That(firstPicks, Has.Count.GreaterThan(4), "with identical nodes, different seeds pick different nodes");
    }

    [Test]
    public void Same_seed_gives_the_same_placement()
    {
        var snapshot = Of([.. Enumerable.Range(0, 20).Select(i => Node($"n{i:D2}"))]);
        var request = Request(count: 30, strategies: [RandomStrategy]);
        var first = NodesOf(PlacementEngine.Place(request, snapshot, seed: 42));
        var second = NodesOf(PlacementEngine.Place(request, snapshot, seed: 42));
        var other = NodesOf(PlacementEngine.Place(request, snapshot, seed: 43));
        Assert.Multiple(() =>
        {
            Assert.That(second, Is.EqualTo(first));
            Assert.That(other, Is.Not.EqualTo(first));
            Assert.That(first.Distinct().Count(), Is.GreaterThan(8), "random spreads over many nodes");
        });
    }

    [Test]
    public void Placement_does_not_change_the_snapshot()
    {
        var node = Node("a");
        var snapshot = Of(node);
        PlacementEngine.Place(Request(count: 3, ports: Port(80)), snapshot, seed: 1);
        Assert.Multiple(() =>
        {
            Assert.That(snapshot.Nodes[0], Is.SameAs(node));
            Assert.That(node.UsedCpu, Is.Zero);
            Assert.That(node.PortsInUse, Is.Empty);
        });
    }

    // ---- ports -------------------------------------------------------------------------------------

    [Test]
    public void Dynamic_ports_come_from_the_range_and_skip_those_in_use()
    {
        var snapshot = Of(Node("a", tcpPortsInUse: [49153, 49154]));
        var result = PlacementEngine.Place(Request(count: 2, ports: [Port(80), Port(443)]), snapshot, seed: 1);
        Assert.That(result.Placed.Select(p => p.HostPorts), Is.EqualTo(new[] { new[] { 49155, 49156 }, new[] { 49157, 49158 } }));
    }

    [Test]
    public void Static_port_places_one_task_per_node()
    {
        var snapshot = Of(Node("a"), Node("b"));
        var result = PlacementEngine.Place(Request(count: 3, ports: Port(80, 8080)), snapshot, seed: 1);
        Assert.Multiple(() =>
        {
            Assert.That(NodesOf(result), Is.EquivalentTo(new[] { "a", "b" }));
            Assert.That(result.Placed.All(p => p.HostPorts.SequenceEqual([8080])));
            Assert.That(result.Failed.Single().Reason, Is.EqualTo("RESOURCE:PORTS"));
            Assert.That(result.Failed.Single().Detail, Is.EqualTo("2 nodes: host port in use (needs 8080/tcp)"));
        });
    }

    [Test]
    public void Dynamic_port_range_can_run_out()
    {
        var snapshot = new ClusterSnapshot([Node("a")], new PortRange(50000, 50001));
        var result = PlacementEngine.Place(Request(count: 3, ports: Port(80)), snapshot, seed: 1);
        Assert.Multiple(() =>
        {
            Assert.That(result.Placed.Select(p => p.HostPorts[0]), Is.EqualTo(new[] { 50000, 50001 }));
            Assert.That(result.Failed.Single().Detail, Is.EqualTo("1 node: no free dynamic port in 50000-50001"));
        });
    }

    [Test]
    public void A_static_port_inside_the_range_is_not_handed_out_as_dynamic()
    {
        var snapshot = Of(Node("a"));
        var result = PlacementEngine.Place(Request(ports: [Port(80), Port(81, 49153)]), snapshot, seed: 1);
        Assert.That(result.Placed.Single().HostPorts, Is.EqualTo(new[] { 49154, 49153 }));
    }

    // ---- failures ----------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> FailureCases()
    {
        yield return new TestCaseData(Of(), Request())
            .Returns(("NO_ACTIVE_NODES", "no nodes are registered in the cluster")).SetName("empty cluster");
        yield return new TestCaseData(Of(Node("a", connected: false), Node("b", status: NodeState.Draining)), Request())
            .Returns(("NO_ACTIVE_NODES", "1 node: draining; 1 node: agent disconnected")).SetName("no node up");
        yield return new TestCaseData(
            Of(Node("a", memory: 256), Node("b", memory: 512, usedMemory: 300), Node("c", memory: 512, usedMemory: 400), Node("d", attributes: new() { ["zone"] = "a" })),
            Request(memory: 512, constraints: [MemberOf("attribute:zone == b || !(attribute:zone exists)")]))
            .Returns(("RESOURCE:MEMORY", "3 nodes: insufficient memory (needs 512 MiB, best has 256); 1 node: memberOf(attribute:zone == b || !(attribute:zone exists))"))
            .SetName("memory and constraint counted per node");
        yield return new TestCaseData(Of(Node("a", cpu: 512), Node("b", cpu: 1024, usedCpu: 1000)), Request(cpu: 1024))
            .Returns(("RESOURCE:CPU", "2 nodes: insufficient cpu (needs 1024 units, best has 512)")).SetName("cpu");
        yield return new TestCaseData(Of(Node("a", groups: new() { ["family:web"] = 1 })), Request(constraints: [new DistinctInstanceConstraint()]))
            .Returns(("CONSTRAINT", "1 node: distinctInstance (already runs a task of group family:web)")).SetName("distinctInstance");
    }

    [TestCaseSource(nameof(FailureCases))]
    public (string, string) Failure_says_why_by_node_count(ClusterSnapshot snapshot, PlacementRequest request)
    {
        var failure = PlacementEngine.Place(request, snapshot, seed: 1).Failed.Single();
        return (failure.Reason, failure.Detail);
    }

    [Test]
    public void Tasks_that_do_not_fit_fail_while_the_rest_are_placed()
    {
        var snapshot = Of(Node("a", cpu: 1024, memory: 4096), Node("b", cpu: 1024, memory: 4096));
        var result = PlacementEngine.Place(Request(count: 10, cpu: 512, memory: 256), snapshot, seed: 1);
        Assert.Multiple(() =>
        {
            Assert.That(result.Placed, Has.Count.EqualTo(4));
            Assert.That(result.Failed.Select(f => f.TaskOrdinal), Is.EqualTo(Enumerable.Range(4, 6)));
            Assert.That(result.Failed.All(f => f.Reason == "RESOURCE:CPU"));
            Assert.That(result.Failed[0].Detail, Is.EqualTo("2 nodes: insufficient cpu (needs 512 units, best has 0)"));
        });
    }

    [Test]
    public void Zero_cpu_tasks_still_need_memory()
    {
        var snapshot = Of(Node("a", cpu: 1024, memory: 1024));
        var result = PlacementEngine.Place(Request(count: 5, cpu: 0, memory: 256), snapshot, seed: 1);
        Assert.That(result.Placed, Has.Count.EqualTo(4));
    }
}
