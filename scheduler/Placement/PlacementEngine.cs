using Orchestrator.Scheduler.Placement.Index;

namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Places tasks on nodes. A pure function of (request, snapshot, seed): no I/O, no clock, no shared
/// state, so the same inputs give the same decisions and it can be tested and benchmarked alone.
/// </summary>
internal static class PlacementEngine
{
    public static PlacementResult Place(PlacementRequest request, ClusterSnapshot snapshot, ulong seed)
    {
        if (IndexedPlacement.Serves(request, snapshot))
        {
            var node = IndexedPlacement.Choose(request, snapshot, seed);
            if (node >= 0)
            {
                return new PlacementResult([new PlacementDecision(0, node, snapshot.Nodes[node].Name, [])], []);
            }

            // No node can take it: the scan finds the same and says why.
        }

        return PlaceByScan(request, snapshot, seed);
    }

    /// <summary>Every node scored for every task: the path for all requests, and the reference the index is tested against.</summary>
    internal static PlacementResult PlaceByScan(PlacementRequest request, ClusterSnapshot snapshot, ulong seed)
    {
        var workspace = new PlacementWorkspace(snapshot, request);
        var staticPass = new NodeFilterPass(request);
        var staticRejects = RunStaticFilters(staticPass, snapshot);
        var dynamicFilters = DynamicFiltersFor(request);
        var scorers = ScorersFor(request, workspace, seed);

        var scan = new NodeScan(workspace, staticRejects, dynamicFilters, scorers, seed, remember: request.Count > 1);
        var placed = new List<PlacementDecision>(request.Count);
        var failed = new List<PlacementFailure>();

        for (var ordinal = 0; ordinal < request.Count; ordinal++)
        {
            var chosen = scan.Choose(ordinal);
            if (chosen < 0)
            {
                // Nothing changed since this task failed and the rest are identical: they fail alike.
                var (reason, detail) = FailureExplainer.Explain(workspace, staticRejects, staticPass, dynamicFilters);
                for (var rest = ordinal; rest < request.Count; rest++)
                {
                    failed.Add(new PlacementFailure(rest, reason, detail));
                }

                break;
            }

            var hostPorts = workspace.Take(chosen);
            scan.Placed(chosen);
            foreach (var scorer in scorers)
            {
                scorer.OnPlaced(workspace, chosen);
            }

            placed.Add(new PlacementDecision(ordinal, chosen, snapshot.Nodes[chosen].Name, hostPorts));
        }

        return new PlacementResult(placed, failed);
    }

    private static RejectReason[] RunStaticFilters(NodeFilterPass pass, ClusterSnapshot snapshot)
    {
        // Availability was decided when the snapshot was built; only the request's own filters (its
        // constraints, and the node policy when the task needs anything of it) run here.
        var rejects = snapshot.Columns.Availability.ToArray();
        if (pass.StaticFilters.Length == 0)
        {
            return rejects;
        }

        for (var node = 0; node < rejects.Length; node++)
        {
            if (rejects[node] == RejectReason.None)
            {
                rejects[node] = pass.FirstConstraintRejection(snapshot.Nodes[node]).Reason;
            }
        }

        return rejects;
    }

    /// <summary>The constraints' dynamic filters in the order given, then resources and ports.</summary>
    internal static IDynamicFilter[] DynamicFiltersFor(PlacementRequest request)
    {
        var filters = new List<IDynamicFilter>(4);
        filters.AddRange(request.Constraints.Select(ConstraintFilters.For).OfType<IDynamicFilter>().Distinct());
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
