using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// The filters a node alone decides, in the order they run: its availability, then every constraint
/// whose filter is static, then its runtime when the task has features only Docker runs, then the
/// node's policy when the task needs anything of it. Placement runs
/// it once per node per call; a DAEMON service runs the same pass to decide which nodes it wants, so a
/// node a service wants is one its placement accepts.
/// </summary>
internal sealed class NodeFilterPass
{
    /// <param name="policy">What the task needs the node's policy to allow; null or nothing adds no filter.</param>
    /// <param name="dockerOnly">The task's features only Docker runs; null or empty adds no filter.</param>
    public NodeFilterPass(IEnumerable<PlacementConstraint> constraints, TaskPolicyDemand? policy = null, IReadOnlyList<string>? dockerOnly = null)
    {
        var filters = constraints.Select(ConstraintFilters.For).OfType<IStaticFilter>().ToList();

        // The runtime before the policy: a setting can change the policy, not the node's runtime, so a
        // node that fails both is told by what cannot be changed.
        if (dockerOnly is { Count: > 0 })
        {
            filters.Add(new RuntimeFilter(dockerOnly));
        }

        if (policy is { IsNothing: false })
        {
            filters.Add(new NodePolicyFilter(policy));
        }

        StaticFilters = [.. filters];
    }

    /// <summary>The request's constraints and what it needs of the node's policy.</summary>
    public NodeFilterPass(PlacementRequest request)
        : this(request.Constraints, request.Policy, request.DockerOnly)
    {
    }

    /// <summary>The static filters of the constraints, in the order given, then the runtime's and the policy's (availability not included).</summary>
    public IStaticFilter[] StaticFilters { get; }

    /// <summary>The first filter that turns the node away, or (null, None).</summary>
    /// <param name="agentMayBeAway">
    /// Judge the node as if its agent were connected: a DAEMON service still wants a node whose agent
    /// is away for a moment, and keeps its task there.
    /// </param>
    public (IStaticFilter? Filter, RejectReason Reason) FirstRejection(NodeSnapshot node, bool agentMayBeAway = false)
    {
        var availability = NodeAvailabilityFilter.Instance.Check(node);
        if (availability != RejectReason.None && !(agentMayBeAway && availability == RejectReason.Disconnected))
        {
            return (NodeAvailabilityFilter.Instance, availability);
        }

        return FirstConstraintRejection(node);
    }

    /// <summary>The first constraint filter that turns the node away, its availability aside.</summary>
    public (IStaticFilter? Filter, RejectReason Reason) FirstConstraintRejection(NodeSnapshot node)
    {
        foreach (var filter in StaticFilters)
        {
            var reason = filter.Check(node);
            if (reason != RejectReason.None)
            {
                return (filter, reason);
            }
        }

        return (null, RejectReason.None);
    }
}
