namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// StartTask's placement: one task on each named node, with no strategy to choose among nodes, but
/// every filter RunTask's placement applies (the node ACTIVE with its agent connected, the constraints,
/// the node policy, resources and ports). Each node is judged alone, as a cluster of that one node, so
/// a node that cannot take the task is explained in the words the filters use for RunTask, about that
/// node only. A pure function, as <see cref="PlacementEngine"/> is.
/// </summary>
internal static class NamedNodePlacement
{
    /// <summary>The reason of a node that is not in the cluster, as ECS's StartTask says of an unknown container instance.</summary>
    public const string Missing = "MISSING";

    /// <param name="request">One task's demand, constraints and group; its count and strategies are not used.</param>
    /// <param name="nodes">Distinct node names; each decision's and failure's ordinal is the node's position here.</param>
    public static PlacementResult Place(PlacementRequest request, ClusterSnapshot snapshot, IReadOnlyList<string> nodes, ulong seed)
    {
        var one = request with { Count = 1, Strategies = [] };
        var placed = new List<PlacementDecision>(nodes.Count);
        var failed = new List<PlacementFailure>();
        for (var ordinal = 0; ordinal < nodes.Count; ordinal++)
        {
            var index = snapshot.IndexOf(nodes[ordinal]);
            if (index < 0)
            {
                failed.Add(new PlacementFailure(ordinal, Missing, $"no node named \"{nodes[ordinal]}\" is registered in the cluster"));
                continue;
            }

            // The scan, not the index: the index is for choosing among many nodes.
            var alone = new ClusterSnapshot([snapshot.Nodes[index]], snapshot.DynamicPorts);
            var result = PlacementEngine.PlaceByScan(one, alone, seed);
            if (result.Placed.Count == 1)
            {
                placed.Add(new PlacementDecision(ordinal, index, nodes[ordinal], result.Placed[0].HostPorts));
            }
            else
            {
                var failure = result.Failed[0];
                failed.Add(new PlacementFailure(ordinal, failure.Reason, failure.Detail));
            }
        }

        return new PlacementResult(placed, failed);
    }
}
