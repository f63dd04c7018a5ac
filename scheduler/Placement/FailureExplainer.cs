namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Says why a task could not be placed: the first filter each node failed, counted by what that filter
/// says of the nodes it turned away ("needs 512 MiB, best has 256"). The words are the filters' own
/// (<see cref="IPlacementFilter.Explain"/>); this only counts and orders them. Runs only on failure,
/// so it may be slower than the placement loop.
/// </summary>
internal static class FailureExplainer
{
    public static (string Reason, string Detail) Explain(
        PlacementWorkspace workspace,
        RejectReason[] staticRejects,
        NodeFilterPass staticPass,
        IDynamicFilter[] dynamicFilters)
    {
        if (workspace.NodeCount == 0)
        {
            return ("NO_ACTIVE_NODES", "no nodes are registered in the cluster");
        }

        var rejected = new Dictionary<(IPlacementFilter Filter, RejectReason Reason), List<int>>();
        for (var node = 0; node < workspace.NodeCount; node++)
        {
            var (filter, reason) = FirstRejection(workspace, node, staticRejects[node], staticPass, dynamicFilters);
            if (filter is null)
            {
                continue; // every node failed, or there would be no failure to explain
            }

            if (!rejected.TryGetValue((filter, reason), out var nodes))
            {
                rejected[(filter, reason)] = nodes = [];
            }

            nodes.Add(node);
        }

        // Filters that say the same words are one line (two identical memberOf constraints, say).
        var counts = new Dictionary<string, (int Nodes, RejectReason Reason)>(StringComparer.Ordinal);
        foreach (var ((filter, reason), nodes) in rejected)
        {
            var label = filter.Explain(reason, workspace, nodes);
            counts[label] = counts.TryGetValue(label, out var seen) ? (seen.Nodes + nodes.Count, seen.Reason) : (nodes.Count, reason);
        }

        var ordered = counts.OrderByDescending(c => c.Value.Nodes).ThenBy(c => c.Value.Reason).ThenBy(c => c.Key, StringComparer.Ordinal).ToList();
        var detail = string.Join("; ", ordered.Select(c => $"{c.Value.Nodes} {(c.Value.Nodes == 1 ? "node" : "nodes")}: {c.Key}"));
        return (CodeFor(ordered.Select(o => o.Value)), detail);
    }

    private static (IPlacementFilter? Filter, RejectReason Reason) FirstRejection(
        PlacementWorkspace workspace, int node, RejectReason staticReject, NodeFilterPass staticPass, IDynamicFilter[] dynamicFilters)
    {
        if (staticReject != RejectReason.None)
        {
            // The scan kept only the reason; the pass names the filter again.
            return staticPass.FirstRejection(workspace.Node(node));
        }

        foreach (var filter in dynamicFilters)
        {
            var reason = filter.Check(workspace, node);
            if (reason != RejectReason.None)
            {
                return (filter, reason);
            }
        }

        return (null, RejectReason.None);
    }

    /// <summary>
    /// NO_ACTIVE_NODES when no node could take any task at all; otherwise the code of the most common
    /// reason among the nodes that are up.
    /// </summary>
    private static string CodeFor(IEnumerable<(int Nodes, RejectReason Reason)> ordered)
    {
        var byReason = ordered.GroupBy(o => o.Reason).Select(g => (Reason: g.Key, Nodes: g.Sum(x => x.Nodes))).ToList();
        var up = byReason.Where(r => r.Reason is not (RejectReason.Inactive or RejectReason.Draining or RejectReason.Disconnected))
            .OrderByDescending(r => r.Nodes).ThenBy(r => r.Reason).ToList();
        if (up.Count == 0)
        {
            return "NO_ACTIVE_NODES";
        }

        return up[0].Reason switch
        {
            RejectReason.Cpu => "RESOURCE:CPU",
            RejectReason.Memory => "RESOURCE:MEMORY",
            RejectReason.Ports => "RESOURCE:PORTS",
            RejectReason.Privileged or RejectReason.HostPath => "POLICY",
            _ => "CONSTRAINT",
        };
    }
}
