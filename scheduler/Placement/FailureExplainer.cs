using System.Text;

namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Says why a task could not be placed: the first filter each node failed, counted by reason, with
/// what the best node had where that helps ("needs 512 MiB, best has 256"). Runs only on failure, so
/// it may be slower than the placement loop.
/// </summary>
internal static class FailureExplainer
{
    public static (string Reason, string Detail) Explain(
        PlacementWorkspace workspace,
        RejectReason[] staticRejects,
        IStaticFilter[] staticFilters,
        IDynamicFilter[] dynamicFilters)
    {
        if (workspace.NodeCount == 0)
        {
            return ("NO_ACTIVE_NODES", "no nodes are registered in the cluster");
        }

        var counts = new Dictionary<string, (int Nodes, RejectReason Reason)>(StringComparer.Ordinal);
        var bestCpu = int.MinValue;
        var bestMemory = int.MinValue;
        for (var node = 0; node < workspace.NodeCount; node++)
        {
            var reason = staticRejects[node];
            var label = "";
            if (reason == RejectReason.MemberOf)
            {
                // Name the first constraint the node failed.
                var failedFilter = staticFilters.OfType<MemberOfFilter>().First(f => f.Check(workspace.Node(node)) != RejectReason.None);
                label = failedFilter.Constraint.ToString();
            }
            else if (reason == RejectReason.None)
            {
                reason = dynamicFilters.Select(f => f.Check(workspace, node)).FirstOrDefault(r => r != RejectReason.None);
            }

            switch (reason)
            {
                case RejectReason.Cpu: bestCpu = Math.Max(bestCpu, workspace.RemainingCpu[node]); break;
                case RejectReason.Memory: bestMemory = Math.Max(bestMemory, workspace.RemainingMemory[node]); break;
            }

            if (label.Length == 0)
            {
                label = Describe(reason, workspace);
            }

            counts[label] = counts.TryGetValue(label, out var seen) ? (seen.Nodes + 1, reason) : (1, reason);
        }

        var ordered = counts.OrderByDescending(c => c.Value.Nodes).ThenBy(c => c.Value.Reason).ThenBy(c => c.Key, StringComparer.Ordinal).ToList();
        var detail = new StringBuilder();
        foreach (var (label, (nodes, reason)) in ordered)
        {
            if (detail.Length > 0)
            {
                detail.Append("; ");
            }

            detail.Append(nodes).Append(nodes == 1 ? " node: " : " nodes: ").Append(label);
            if (reason == RejectReason.Cpu)
            {
                detail.Append($" (needs {workspace.Demand.Cpu} units, best has {bestCpu})");
            }
            else if (reason == RejectReason.Memory)
            {
                detail.Append($" (needs {workspace.Demand.Memory} MiB, best has {bestMemory})");
            }
        }

        return (CodeFor(ordered.Select(o => o.Value)), detail.ToString());
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
            _ => "CONSTRAINT",
        };
    }

    private static string Describe(RejectReason reason, PlacementWorkspace workspace) => reason switch
    {
        RejectReason.Inactive => "inactive",
        RejectReason.Draining => "draining",
        RejectReason.Disconnected => "agent disconnected",
        RejectReason.DistinctInstance => $"distinctInstance (already runs a task of group {workspace.Request.Group})",
        RejectReason.Cpu => "insufficient cpu",
        RejectReason.Memory => "insufficient memory",
        RejectReason.Ports => DescribePorts(workspace),
        _ => reason.ToString(),
    };

    private static string DescribePorts(PlacementWorkspace workspace)
    {
        var fixedPorts = workspace.Demand.Ports.Where(p => p.HostPort != 0).Select(p => $"{p.HostPort}/{(p.Protocol == Domain.Protocol.Udp ? "udp" : "tcp")}").ToList();
        return fixedPorts.Count > 0
            ? $"host port in use (needs {string.Join(", ", fixedPorts)})"
            : $"no free dynamic port in {workspace.Snapshot.DynamicPorts}";
    }
}
