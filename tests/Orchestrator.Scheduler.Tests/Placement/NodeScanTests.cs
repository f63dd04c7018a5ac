using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using static Orchestrator.Scheduler.Tests.Placement.Cluster;

namespace Orchestrator.Scheduler.Tests.Placement;

/// <summary>The per-call caches must never change a decision: a batch places as single calls do.</summary>
internal sealed class NodeScanTests
{
    private static IEnumerable<TestCaseData> Chains()
    {
        yield return new TestCaseData((object)Array.Empty<PlacementStrategy>()).SetName("default fit");
        yield return new TestCaseData((object)new[] { new PlacementStrategy(StrategyKind.BinpackMemory) }).SetName("binpack memory");
        yield return new TestCaseData((object)new[] { new PlacementStrategy(StrategyKind.BinpackCpu), new PlacementStrategy(StrategyKind.BinpackMemory) }).SetName("binpack cpu then memory");
        yield return new TestCaseData((object)new[] { new PlacementStrategy(StrategyKind.SpreadNode), new PlacementStrategy(StrategyKind.BinpackMemory) }).SetName("spread then binpack");
    }

    [TestCaseSource(nameof(Chains))]
    public void A_batch_places_like_the_same_tasks_one_call_at_a_time(PlacementStrategy[] chain)
    {
        // Every node differs, so no decision rests on a seeded tie-break (which depends on the ordinal).
        var nodes = Enumerable.Range(0, 12).Select(i => Node($"n{i:D2}", cpu: 2048 + (i * 131), memory: 4096 + (i * 517), usedCpu: i * 37, usedMemory: i * 91)).ToArray();
        var request = Request(cpu: 300, memory: 700, count: 40, strategies: chain, ports: Port(80));

        var batch = PlacementEngine.Place(request, Of(nodes), seed: 5);

        var one = request with { Count = 1 };
        var snapshot = Of(nodes);
        var singles = new List<(string Node, int Port)>();
        for (var i = 0; i < request.Count; i++)
        {
            var result = PlacementEngine.Place(one, snapshot, seed: 5);
            if (result.Placed.Count == 0)
            {
                break;
            }

            var decision = result.Placed[0];
            singles.Add((decision.Node, decision.HostPorts[0]));
            var node = snapshot.Nodes[decision.NodeIndex];
            var ports = new HashSet<int>(node.PortsInUse) { new HostPortKey(decision.HostPorts[0], Protocol.Tcp).Key };
            var groups = new Dictionary<string, int>(node.TasksByGroup) { [request.Group] = node.TasksByGroup.GetValueOrDefault(request.Group) + 1 };
            snapshot = snapshot.WithNodes([(decision.NodeIndex, node with { UsedCpu = node.UsedCpu + 300, UsedMemory = node.UsedMemory + 700, PortsInUse = ports, TasksByGroup = groups })]);
        }

        Assert.That(batch.Placed.Select(p => (p.Node, p.HostPorts[0])), Is.EqualTo(singles));
    }

    [Test]
    public void A_patched_snapshot_has_the_columns_of_one_built_anew()
    {
        var nodes = new[] { Node("a"), Node("b", connected: false), Node("c") };
        var snapshot = Of(nodes);
        _ = snapshot.Columns;
        var patched = snapshot.WithNodes([(1, nodes[1] with { Connected = true, UsedCpu = 100 }), (2, nodes[2] with { Status = NodeState.Draining })]);
        var fresh = Of(patched.Nodes.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(patched.Columns.RemainingCpu, Is.EqualTo(fresh.Columns.RemainingCpu));
            Assert.That(patched.Columns.Availability, Is.EqualTo(fresh.Columns.Availability));
            Assert.That(patched.Columns.Availability, Is.EqualTo(new[] { RejectReason.None, RejectReason.None, RejectReason.Draining }));
            Assert.That(snapshot.Columns.Availability[1], Is.EqualTo(RejectReason.Disconnected), "the old snapshot is untouched");
        });
    }

    [Test]
    public void Totals_are_shared_until_a_node_changes_size_and_then_copied()
    {
        var nodes = new[] { Node("a", cpu: 1024), Node("b", cpu: 2048) };
        var snapshot = Of(nodes);
        _ = snapshot.Columns; // patched from here on, not built anew
        var used = snapshot.WithNodes([(0, nodes[0] with { UsedCpu = 10 })]);
        var resized = used.WithNodes([(1, nodes[1] with { TotalCpu = 4096, TotalMemory = 100 })]);
        Assert.Multiple(() =>
        {
            Assert.That(used.Columns.TotalCpu, Is.SameAs(snapshot.Columns.TotalCpu), "usage alone shares the totals");
            Assert.That(resized.Columns.TotalCpu, Is.EqualTo(new[] { 1024, 4096 }));
            Assert.That(resized.Columns.TotalMemory, Is.EqualTo(new[] { 8192, 100 }));
            Assert.That(used.Columns.TotalCpu, Is.EqualTo(new[] { 1024, 2048 }), "the older snapshot keeps its totals");
        });
    }

    [Test]
    public void The_pow10_table_is_accurate_increasing_and_convex()
    {
        var xs = Enumerable.Range(0, 10_001).Select(i => i / 10_000.0).ToArray();
        var ys = xs.Select(Pow10Table.Of).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(xs.Zip(ys).Max(p => Math.Abs(p.Second - Math.Pow(10, p.First))), Is.LessThan(1e-5));
            Assert.That(ys.Zip(ys.Skip(1)).All(p => p.Second > p.First), "increasing");
            Assert.That(Enumerable.Range(1, ys.Length - 2).All(i => ys[i - 1] + ys[i + 1] - (2 * ys[i]) >= -1e-12), "convex");
        });
    }
}
