using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Constraints;
using Orchestrator.Scheduler.Placement.Index;
using static Orchestrator.Scheduler.Tests.Placement.Cluster;

namespace Orchestrator.Scheduler.Tests.Placement;

/// <summary>
/// The index is only a faster way to the same answer: over seeded random clusters, every request it
/// serves must get exactly the node the exhaustive scan picks, on snapshots built anew and on
/// snapshots patched task after task.
/// </summary>
internal sealed class IndexedPlacementTests
{
    private static readonly PlacementStrategy BinpackCpu = new(StrategyKind.BinpackCpu);
    private static readonly PlacementStrategy BinpackMemory = new(StrategyKind.BinpackMemory);

    private static IEnumerable<TestCaseData> Chains()
    {
        yield return new TestCaseData((object)Array.Empty<PlacementStrategy>()).SetName("default fit");
        yield return new TestCaseData((object)new[] { BinpackCpu }).SetName("binpack cpu");
        yield return new TestCaseData((object)new[] { BinpackMemory }).SetName("binpack memory");
        yield return new TestCaseData((object)new[] { BinpackCpu, BinpackMemory }).SetName("binpack cpu then memory");
        yield return new TestCaseData((object)new[] { BinpackMemory, BinpackCpu }).SetName("binpack memory then cpu");
    }

    [TestCaseSource(nameof(Chains))]
    public void Chooses_what_the_scan_chooses_on_random_clusters(PlacementStrategy[] chain)
    {
        var compared = 0;
        for (var seed = 1; seed <= 40; seed++)
        {
            var random = new Random(seed);
            var snapshot = Of(RandomNodes(random, random.Next(1, 300)));
            for (var call = 0; call < 25; call++)
            {
                var request = RandomRequest(random, chain);
                Assert.That(IndexedPlacement.Serves(request, snapshot), "the index serves this request");
                var placementSeed = (ulong)random.NextInt64();
                Assert.That(ChosenBy(PlacementEngine.Place(request, snapshot, placementSeed)),
                    Is.EqualTo(ChosenBy(PlacementEngine.PlaceByScan(request, snapshot, placementSeed))), $"seed {seed}, call {call}, {request}");
                compared++;
            }
        }

        Assert.That(compared, Is.EqualTo(1000));
    }

    [TestCaseSource(nameof(Chains))]
    public void Chooses_what_the_scan_chooses_as_a_patched_snapshot_fills(PlacementStrategy[] chain)
    {
        for (var seed = 1; seed <= 5; seed++)
        {
            var random = new Random(seed);
            // Few sizes and empty nodes: many exact ties, which only the seeded hash may break.
            var nodes = Enumerable.Range(0, 200).Select(i => Node($"n{i:D3}", cpu: 4096 * (1 + (i % 2)), memory: 8192 * (1 + (i % 3)))).ToArray();
            var snapshot = Of(nodes);
            var placed = 0;
            for (var call = 0; call < 600; call++)
            {
                var request = Request(cpu: 128 * random.Next(0, 9), memory: 256 * random.Next(1, 9), strategies: chain);
                var placementSeed = (ulong)call;
                var fast = PlacementEngine.Place(request, snapshot, placementSeed);
                Assert.That(ChosenBy(fast), Is.EqualTo(ChosenBy(PlacementEngine.PlaceByScan(request, snapshot, placementSeed))), $"seed {seed}, call {call}");
                if (fast.Placed.Count == 0)
                {
                    continue;
                }

                var index = fast.Placed[0].NodeIndex;
                var node = snapshot.Nodes[index];
                // Now and then a node leaves, comes back or drains, as agents do.
                var changed = (call % 37) switch
                {
                    5 => node with { Connected = !node.Connected },
                    11 => node with { Status = node.Status == NodeState.Active ? NodeState.Draining : NodeState.Active },
                    _ => node with { UsedCpu = node.UsedCpu + request.Demand.Cpu, UsedMemory = node.UsedMemory + request.Demand.Memory },
                };
                snapshot = snapshot.WithNodes([(index, changed)]);
                placed++;
            }

            Assert.That(placed, Is.GreaterThan(100), "the cluster took tasks");
            AssertSameIndex(snapshot.FitIndex, Of([.. snapshot.Nodes]).FitIndex);
        }
    }

    [Test]
    public void A_node_changed_twice_in_one_patch_is_indexed_once_as_its_last_change()
    {
        var nodes = new[] { Node("a"), Node("b"), Node("c") };
        var snapshot = Of(nodes);
        _ = snapshot.FitIndex;
        var patched = snapshot.WithNodes([(1, nodes[1] with { UsedCpu = 100 }), (1, nodes[1] with { UsedCpu = 300, Connected = false }), (1, nodes[1] with { UsedCpu = 200 })]);
        AssertSameIndex(patched.FitIndex, Of([.. patched.Nodes]).FitIndex);
        Assert.That(Entries(patched.FitIndex.ByCpu).Count, Is.EqualTo(3));
    }

    [Test]
    public void The_scan_takes_requests_the_index_does_not_serve()
    {
        var snapshot = Of(Node("a"), Node("b"));
        Assert.Multiple(() =>
        {
            Assert.That(IndexedPlacement.Serves(Request(count: 2), snapshot), Is.False, "more than one task");
            Assert.That(IndexedPlacement.Serves(Request(ports: Port(80)), snapshot), Is.False, "host ports");
            Assert.That(IndexedPlacement.Serves(Request(strategies: [new PlacementStrategy(StrategyKind.SpreadNode)]), snapshot), Is.False, "spread");
            Assert.That(IndexedPlacement.Serves(Request(strategies: [BinpackCpu, new PlacementStrategy(StrategyKind.Random)]), snapshot), Is.False, "random");
            Assert.That(IndexedPlacement.Serves(Request(), Of(Node("odd", usedCpu: -1))), Is.False, "a node the bounds do not hold for");
            Assert.That(IndexedPlacement.Serves(Request(constraints: [new DistinctInstanceConstraint()]), snapshot), Is.True);
        });
    }

    [Test]
    public void When_no_node_fits_the_failure_is_the_scans()
    {
        var snapshot = Of(Node("a", cpu: 512), Node("b", status: NodeState.Draining));
        var failure = PlacementEngine.Place(Request(cpu: 1024), snapshot, seed: 1).Failed.Single();
        Assert.That((failure.Reason, failure.Detail), Is.EqualTo(("RESOURCE:CPU", "1 node: draining; 1 node: insufficient cpu (needs 1024 units, best has 512)")));
    }

    internal static List<IndexEntry> Entries(SortedBlocks blocks, long from = long.MinValue)
    {
        var entries = new List<IndexEntry>();
        var walk = blocks.From(from);
        while (walk.MoveNext())
        {
            entries.Add(walk.Current);
        }

        return entries;
    }

    private static (string? Node, int Failed) ChosenBy(PlacementResult result) => (result.Placed.SingleOrDefault()?.Node, result.Failed.Count);

    private static NodeSnapshot[] RandomNodes(Random random, int count)
    {
        // A few sizes, so that sizes share orderings and nodes of one size tie.
        (int Cpu, int Memory)[] sizes = [(2048, 4096), (4096, 8192), (4096, 16384), (16384, 65536)];
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var (cpu, memory) = sizes[random.Next(sizes.Length)];
            // Coarse usage steps make equal remainders, and so ties, common.
            var usedCpu = random.Next(3) == 0 ? 0 : Math.Min(cpu, 256 * random.Next(0, (cpu / 256) + 1));
            var usedMemory = random.Next(3) == 0 ? 0 : Math.Min(memory, 512 * random.Next(0, (memory / 512) + 1));
            return Node(
                $"n{i:D3}",
                cpu,
                memory,
                usedCpu,
                usedMemory,
                status: random.Next(10) == 0 ? NodeState.Draining : NodeState.Active,
                connected: random.Next(12) != 0,
                attributes: new() { ["zone"] = ((char)('a' + random.Next(3))).ToString() },
                groups: random.Next(4) == 0 ? new() { ["family:web"] = 1 } : null);
        })];
    }

    private static PlacementRequest RandomRequest(Random random, PlacementStrategy[] chain)
    {
        var constraints = new List<PlacementConstraint>();
        if (random.Next(4) == 0)
        {
            constraints.Add(new DistinctInstanceConstraint());
        }

        if (random.Next(4) == 0)
        {
            var expression = $"attribute:zone != {(char)('a' + random.Next(3))}";
            constraints.Add(new MemberOfConstraint(expression, ConstraintParser.Parse(expression)));
        }

        return Request(cpu: 128 * random.Next(0, 17), memory: 256 * random.Next(0, 33), strategies: chain, constraints: [.. constraints]);
    }

    private static void AssertSameIndex(FitIndex patched, FitIndex built)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Entries(patched.ByCpu), Is.EqualTo(Entries(built.ByCpu)));
            Assert.That(Entries(patched.ByMemory), Is.EqualTo(Entries(built.ByMemory)));
            Assert.That(patched.ByFit.Select(s => (s.TotalCpu, s.TotalMemory, Entries(s.Nodes))),
                Is.EqualTo(built.ByFit.Select(s => (s.TotalCpu, s.TotalMemory, Entries(s.Nodes)))));
            Assert.That(patched.OddNodes, Is.EqualTo(built.OddNodes));
        });
    }
}
