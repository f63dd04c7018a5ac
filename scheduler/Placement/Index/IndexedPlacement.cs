namespace Orchestrator.Scheduler.Placement.Index;

/// <summary>
/// One task placed by the fit strategies (the default cpu+memory fit, binpack on cpu or memory, and
/// chains of them) through the snapshot's <see cref="FitIndex"/>: the walk starts at the smallest
/// node that could hold the task and stops once no node further on can score better than the best
/// found, so it looks at the few nodes near the best fit instead of all of them. It chooses exactly
/// what the node scan chooses: the same scores, compared the same way, and full ties broken by the
/// same seeded hash (a tie is never cut short by the stop rule, which needs a strictly worse bound).
/// </summary>
internal sealed class IndexedPlacement
{
    // The combined fit's bound is computed through other roundings than the score it bounds; a
    // margin far above those errors (about 1e-15 on scores between 2 and 20) keeps exact ties visited.
    private const double BoundMargin = 1e-9;

    private readonly IReadOnlyList<NodeSnapshot> _nodes;
    private readonly Score[] _chain;
    private readonly NodeFilterPass _constraints;
    private readonly bool _distinct;
    private readonly bool _readsRecord; // constraints (or the node policy) to check on the node's record
    private readonly string _group;
    private readonly int _cpu;
    private readonly int _memory;
    private readonly ulong _seed;
    private double[] _current;
    private double[] _best;
    private int _chosen = -1;
    private ulong _chosenTieBreak;

    private IndexedPlacement(PlacementRequest request, ClusterSnapshot snapshot, ulong seed)
    {
        _nodes = snapshot.Nodes;
        _chain = request.Strategies.Count == 0 ? [Score.CombinedFit] : [.. request.Strategies.Select(s => s.Kind == StrategyKind.BinpackCpu ? Score.CpuLeft : Score.MemoryLeft)];
        _constraints = new NodeFilterPass(request);
        _distinct = request.Constraints.Any(c => c is DistinctInstanceConstraint);
        _readsRecord = _constraints.StaticFilters.Length > 0 || _distinct;
        _group = request.Group;
        _cpu = request.Demand.Cpu;
        _memory = request.Demand.Memory;
        _seed = seed;
        _current = new double[_chain.Length];
        _best = new double[_chain.Length];
    }

    /// <summary>The scores of the fit strategies: the same numbers their scorers give.</summary>
    private enum Score
    {
        CombinedFit,
        CpuLeft,
        MemoryLeft,
    }

    /// <summary>
    /// Requests this path serves: one task, no host ports, only fit strategies, constraints whose filters
    /// the node alone decides (and distinctInstance, checked here on the node's group count), and the node
    /// policy (a static filter too, in the same pass as the constraints). Spread and
    /// random score by more than what a node has left, and ports need the per-call port bookkeeping of
    /// the scan.
    /// </summary>
    public static bool Serves(PlacementRequest request, ClusterSnapshot snapshot) =>
        request.Count == 1
        && request.Demand.Ports.Count == 0
        && request.Demand.Cpu >= 0
        && request.Demand.Memory >= 0
        && request.Strategies.All(s => s.Kind is StrategyKind.BinpackCpu or StrategyKind.BinpackMemory)
        && request.Constraints.All(c => ConstraintFilters.For(c) is IStaticFilter or DistinctInstanceFilter)
        && snapshot.FitIndex.OddNodes == 0;

    /// <returns>The node's index in the snapshot, or -1 when no node can take the task.</returns>
    public static int Choose(PlacementRequest request, ClusterSnapshot snapshot, ulong seed)
    {
        var placement = new IndexedPlacement(request, snapshot, seed);
        var index = snapshot.FitIndex;
        switch (placement._chain[0])
        {
            case Score.CpuLeft:
                placement.WalkByOwnScore(index.ByCpu, request.Demand.Cpu);
                break;
            case Score.MemoryLeft:
                placement.WalkByOwnScore(index.ByMemory, request.Demand.Memory);
                break;
            default:
                foreach (var shape in index.ByFit)
                {
                    placement.WalkByFit(shape);
                }

                break;
        }

        return placement._chosen;
    }

    /// <summary>Binpack: a node's first score is its key minus the demand, so keys in order are scores in order.</summary>
    private void WalkByOwnScore(SortedBlocks ordering, int demand)
    {
        var walk = ordering.From(demand);
        while (walk.MoveNext())
        {
            var entry = walk.Current;
            if (_chosen >= 0 && entry.Key - demand > _best[0])
            {
                return;
            }

            Consider(entry, -1, -1);
        }
    }

    private void WalkByFit(FitShape shape)
    {
        // Nodes with a key below this cannot hold the task in both dimensions.
        var least = ((long)_cpu * shape.TotalMemory) + ((long)_memory * shape.TotalCpu);
        var scale = (double)shape.TotalCpu * shape.TotalMemory;
        var walk = shape.Nodes.From(least);
        while (walk.MoveNext())
        {
            var entry = walk.Current;
            if (_chosen >= 0)
            {
                // a + b, the fractions the task would leave, for every node from here on is at least this.
                var leftOver = (entry.Key - least) / scale;
                var bound = 2 * Pow10Table.Of(leftOver / 2);
                if (bound - BoundMargin > _best[0])
                {
                    return;
                }
            }

            Consider(entry, shape.TotalCpu, shape.TotalMemory);
        }
    }

    /// <summary>
    /// The scan's filters and its lexicographic comparison, for one node. The combined fit is only ever
    /// the whole chain (it is the default, never a strategy), so its walk always knows the node's size.
    /// </summary>
    private void Consider(IndexEntry entry, int totalCpu, int totalMemory)
    {
        if (entry.RemainingCpu < _cpu || entry.RemainingMemory < _memory)
        {
            return;
        }

        var node = entry.Node;
        if (_readsRecord)
        {
            var record = _nodes[node];
            if (_distinct && record.TasksByGroup.GetValueOrDefault(_group) > 0)
            {
                return;
            }

            if (_constraints.FirstConstraintRejection(record).Reason != RejectReason.None)
            {
                return;
            }
        }

        var better = _chosen < 0;
        for (var s = 0; s < _chain.Length; s++)
        {
            var score = _chain[s] switch
            {
                Score.CpuLeft => entry.RemainingCpu - _cpu,
                Score.MemoryLeft => entry.RemainingMemory - _memory,
                _ => CombinedFitScorer.Fit(entry.RemainingCpu, entry.RemainingMemory, totalCpu, totalMemory, _cpu, _memory),
            };
            _current[s] = score;
            if (better)
            {
                continue;
            }

            if (score < _best[s])
            {
                better = true;
            }
            else if (score > _best[s])
            {
                return;
            }
        }

        // A full tie: the seed decides, as in the scan.
        var tieBreak = SeededHash.Mix(_seed, 0, node);
        if (!better && tieBreak >= _chosenTieBreak)
        {
            return;
        }

        _chosen = node;
        _chosenTieBreak = tieBreak;
        (_current, _best) = (_best, _current);
    }
}
