using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Constraints;
using static Orchestrator.Scheduler.Tests.Placement.Cluster;

namespace Orchestrator.Scheduler.Tests.Placement;

/// <summary>Each filter says in its own words why it turned nodes away; the registry finds the filter of each constraint.</summary>
internal sealed class FilterExplanationTests
{
    private static MemberOfConstraint MemberOf(string expression) => new(expression, ConstraintParser.Parse(expression));

    private static IEnumerable<TestCaseData> StaticCases()
    {
        yield return new TestCaseData(NodeAvailabilityFilter.Instance, Node("a", status: NodeState.Inactive), RejectReason.Inactive, "inactive").SetName("inactive");
        yield return new TestCaseData(NodeAvailabilityFilter.Instance, Node("a", status: NodeState.Draining, connected: false), RejectReason.Draining, "draining").SetName("draining before disconnected");
        yield return new TestCaseData(NodeAvailabilityFilter.Instance, Node("a", connected: false), RejectReason.Disconnected, "agent disconnected").SetName("disconnected");
        yield return new TestCaseData(new MemberOfFilter(MemberOf("attribute:zone in [a, b]")), Node("a", attributes: new() { ["zone"] = "c" }), RejectReason.MemberOf, "memberOf(attribute:zone in [a, b])").SetName("memberOf names its expression");
    }

    [TestCaseSource(nameof(StaticCases))]
    public void A_static_filter_rejects_and_explains(IStaticFilter filter, NodeSnapshot node, RejectReason reason, string words)
    {
        var workspace = new PlacementWorkspace(Of(node), Request());
        Assert.Multiple(() =>
        {
            Assert.That(filter.Check(node), Is.EqualTo(reason));
            Assert.That(filter.Explain(reason, workspace, [0]), Is.EqualTo(words));
            Assert.That(filter.Check(Node("ok", attributes: new() { ["zone"] = "a" })), Is.EqualTo(RejectReason.None), "a fitting node passes");
        });
    }

    private static IEnumerable<TestCaseData> DynamicCases()
    {
        var crowded = Of(Node("a", cpu: 1024, memory: 1024, usedCpu: 900, usedMemory: 1000), Node("b", cpu: 1024, memory: 1024, usedCpu: 600, usedMemory: 700), Node("c", cpu: 8192, memory: 8192));
        yield return new TestCaseData(CpuFilter.Instance, crowded, Request(cpu: 512), RejectReason.Cpu, "insufficient cpu (needs 512 units, best has 424)")
            .SetName("cpu says the best of the nodes it turned away");
        yield return new TestCaseData(MemoryFilter.Instance, crowded, Request(memory: 512), RejectReason.Memory, "insufficient memory (needs 512 MiB, best has 324)")
            .SetName("memory says the best of the nodes it turned away");
        yield return new TestCaseData(DistinctInstanceFilter.Instance, Of(Node("a", groups: new() { ["service:web"] = 1 }), Node("b", groups: new() { ["service:web"] = 2, ["service:db"] = 1 }), Node("c", groups: new() { ["service:db"] = 3 })),
            Request(group: "service:web", constraints: [new DistinctInstanceConstraint()]), RejectReason.DistinctInstance, "distinctInstance (already runs a task of group service:web)")
            .SetName("distinctInstance names the group");
        yield return new TestCaseData(PortFilter.Instance, Of(Node("a", tcpPortsInUse: [80]), Node("b", tcpPortsInUse: [53, 80]), Node("c", tcpPortsInUse: [53])),
            Request(ports: [Port(80, 80), Port(53, 53, Protocol.Udp), Port(8080)]), RejectReason.Ports, "host port in use (needs 80/tcp, 53/udp)")
            .SetName("ports name the static ports asked for");
        yield return new TestCaseData(PortFilter.Instance, new ClusterSnapshot([Node("a", tcpPortsInUse: [50000, 50001]), Node("b", tcpPortsInUse: [50000]), Node("c", tcpPortsInUse: [8080])], new PortRange(50000, 50001)),
            Request(ports: [Port(80), Port(81)]), RejectReason.Ports, "no free dynamic port in 50000-50001")
            .SetName("ports name the dynamic range when no static port is asked for");
    }

    /// <summary>Nodes a and b are turned away, c passes.</summary>
    [TestCaseSource(nameof(DynamicCases))]
    public void A_dynamic_filter_rejects_and_explains(IDynamicFilter filter, ClusterSnapshot snapshot, PlacementRequest request, RejectReason reason, string words)
    {
        var workspace = new PlacementWorkspace(snapshot, request);
        Assert.Multiple(() =>
        {
            Assert.That(Enumerable.Range(0, 3).Select(n => filter.Check(workspace, n)), Is.EqualTo(new[] { reason, reason, RejectReason.None }));
            Assert.That(filter.Explain(reason, workspace, [0, 1]), Is.EqualTo(words));
        });
    }

    [Test]
    public void Each_constraint_type_has_its_filter()
    {
        var memberOf = MemberOf("name == a");
        Assert.Multiple(() =>
        {
            Assert.That(ConstraintFilters.For(memberOf), Is.TypeOf<MemberOfFilter>().With.Property(nameof(MemberOfFilter.Constraint)).SameAs(memberOf));
            Assert.That(ConstraintFilters.For(new DistinctInstanceConstraint()), Is.SameAs(DistinctInstanceFilter.Instance));
            Assert.That(() => ConstraintFilters.For(new UnknownConstraint()), Throws.InvalidOperationException.With.Message.Contains(nameof(UnknownConstraint)));
        });
    }

    private static IEnumerable<TestCaseData> PassCases()
    {
        var zoneA = new Dictionary<string, string> { ["zone"] = "a" };
        PlacementConstraint[] inZoneA = [MemberOf("attribute:zone == a"), new DistinctInstanceConstraint()];
        yield return new TestCaseData(Node("n", attributes: zoneA), inZoneA, false, RejectReason.None).SetName("a matching node passes; distinctInstance is not the node's to decide");
        yield return new TestCaseData(Node("n"), inZoneA, false, RejectReason.MemberOf).SetName("memberOf turns a node away");
        yield return new TestCaseData(Node("n", status: NodeState.Draining), inZoneA, true, RejectReason.Draining).SetName("status comes first");
        yield return new TestCaseData(Node("n", connected: false), inZoneA, false, RejectReason.Disconnected).SetName("a node without its agent cannot take a task");
        yield return new TestCaseData(Node("n", connected: false, attributes: zoneA), inZoneA, true, RejectReason.None).SetName("a daemon still wants a node whose agent is away");
        yield return new TestCaseData(Node("n", connected: false), inZoneA, true, RejectReason.MemberOf).SetName("but not one its constraints refuse");
    }

    [TestCaseSource(nameof(PassCases))]
    public void The_node_filter_pass_takes_the_first_rejection(NodeSnapshot node, PlacementConstraint[] constraints, bool agentMayBeAway, RejectReason expected)
    {
        var (filter, reason) = new NodeFilterPass(constraints).FirstRejection(node, agentMayBeAway);
        Assert.Multiple(() =>
        {
            Assert.That(reason, Is.EqualTo(expected));
            Assert.That(filter is null, Is.EqualTo(expected == RejectReason.None), "a rejection names its filter");
        });
    }

    private sealed record UnknownConstraint : PlacementConstraint;
}
