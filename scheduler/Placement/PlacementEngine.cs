namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Places tasks on nodes. A pure function of (request, snapshot, seed): no I/O, no clock, no shared
/// state, so the same inputs give the same decisions and it can be tested and benchmarked alone.
/// </summary>
internal static class PlacementEngine
{
    public static PlacementResult Place(PlacementRequest request, ClusterSnapshot snapshot, ulong seed)
    {
        var workspace = new PlacementWorkspace(snapshot, request);
        var staticRejects = RunStaticFilters(request, snapshot, out var staticFilters);
        var dynamicFilters = DynamicFiltersFor(request);
        var scorers = ScorersFor(request, workspace, seed);

        var placed = new List<PlacementDecision>(request.Count);
        var failed = new List<PlacementFailure>();
        var current = new double[scorers.Length];
        var best = new double[scorers.Length];

        for (var ordinal = 0; ordinal < request.Count; ordinal++)
        {
            var chosen = ChooseNode(workspace, staticRejects, dynamicFilters, scorers, seed, ordinal, current, best);
            if (chosen < 0)
            {
                // Nothing changed since this task failed and the rest are identical: they fail alike.
                var (reason, detail) = FailureExplainer.Explain(workspace, staticRejects, staticFilters, dynamicFilters);
                for (var rest = ordinal; rest < request.Count; rest++)
                {
                    failed.Add(new PlacementFailure(rest, reason, detail));
                }

                break;
            }

            var hostPorts = workspace.Take(chosen);
            foreach (var scorer in scorers)
            {
                scorer.OnPlaced(workspace, chosen);
            }

            placed.Add(new PlacementDecision(ordinal, chosen, snapshot.Nodes[chosen].Name, hostPorts));
        }

        return new PlacementResult(placed, failed);
    }

    private static int ChooseNode(
        PlacementWorkspace workspace,
        RejectReason[] staticRejects,
        IDynamicFilter[] filters,
        IPlacementScorer[] scorers,
        ulong seed,
        int ordinal,
        double[] current,
        double[] best)
    {
        var chosen = -1;
        var chosenTieBreak = 0UL;
        var tieBreakKnown = false;
        for (var node = 0; node < staticRejects.Length; node++)
        {
            if (staticRejects[node] != RejectReason.None || !PassesAll(filters, workspace, node))
            {
                continue;
            }

            // Lexicographic comparison over the strategy chain, stopping at the first worse score.
            var better = chosen < 0;
            var worse = false;
            for (var s = 0; s < scorers.Length; s++)
            {
                var score = scorers[s].Score(workspace, node, ordinal);
                current[s] = score;
                if (better)
                {
                    continue;
                }

                if (score < best[s])
                {
                    better = true;
                }
                else if (score > best[s])
                {
                    worse = true;
                    break;
                }
            }

            if (worse)
            {
                continue;
            }

            if (!better)
            {
                // A full tie: the seed decides, not the node's position in the list.
                if (!tieBreakKnown)
                {
                    chosenTieBreak = SeededHash.Mix(seed, ordinal, chosen);
                    tieBreakKnown = true;
                }

                var tieBreak = SeededHash.Mix(seed, ordinal, node);
                if (tieBreak >= chosenTieBreak)
                {
                    continue;
                }

                chosenTieBreak = tieBreak;
            }
            else
            {
                tieBreakKnown = false;
            }

            chosen = node;
            (current, best) = (best, current);
        }

        return chosen;
    }

    private static bool PassesAll(IDynamicFilter[] filters, PlacementWorkspace workspace, int node)
    {
        foreach (var filter in filters)
        {
            if (filter.Check(workspace, node) != RejectReason.None)
            {
                return false;
            }
        }

        return true;
    }

    private static RejectReason[] RunStaticFilters(PlacementRequest request, ClusterSnapshot snapshot, out IStaticFilter[] filters)
    {
        filters = [NodeAvailabilityFilter.Instance, .. request.Constraints.OfType<MemberOfConstraint>().Select(c => new MemberOfFilter(c))];
        var rejects = new RejectReason[snapshot.Nodes.Count];
        for (var node = 0; node < rejects.Length; node++)
        {
            foreach (var filter in filters)
            {
                var reason = filter.Check(snapshot.Nodes[node]);
                if (reason != RejectReason.None)
                {
                    rejects[node] = reason;
                    break;
                }
            }
        }

        return rejects;
    }

    internal static IDynamicFilter[] DynamicFiltersFor(PlacementRequest request)
    {
        var filters = new List<IDynamicFilter>(4);
        if (request.Constraints.OfType<DistinctInstanceConstraint>().Any())
        {
            filters.Add(DistinctInstanceFilter.Instance);
        }

        filters.Add(CpuFilter.Instance);
        filters.Add(MemoryFilter.Instance);
        if (request.Demand.Ports.Count > 0)
        {
            filters.Add(PortFilter.Instance);
        }

        return [.. filters];
    }

    private static IPlacementScorer[] ScorersFor(PlacementRequest request, PlacementWorkspace workspace, ulong seed)
    {
        if (request.Strategies.Count == 0)
        {
            return [CombinedFitScorer.Instance];
        }

        return [.. request.Strategies.Select(strategy => strategy.Kind switch
        {
            StrategyKind.BinpackCpu => BinpackCpuScorer.Instance,
            StrategyKind.BinpackMemory => BinpackMemoryScorer.Instance,
            StrategyKind.SpreadNode => SpreadNodeScorer.Instance,
            StrategyKind.SpreadAttribute => new SpreadAttributeScorer(workspace, strategy.Attribute!),
            StrategyKind.Random => (IPlacementScorer)new RandomScorer(seed),
            _ => throw new ArgumentOutOfRangeException(nameof(request), strategy.Kind, "unknown strategy"),
        })];
    }
}
