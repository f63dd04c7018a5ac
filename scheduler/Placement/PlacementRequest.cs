using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement;

/// <summary>Place <paramref name="Count"/> identical tasks of one group.</summary>
/// <param name="Strategies">Applied in order; an empty list means the combined cpu+memory fit.</param>
/// <param name="Group">Tasks of one group are what spread and distinctInstance count.</param>
/// <param name="Policy">What the task needs the node's policy to allow; null (or nothing) skips the policy filter.</param>
/// <param name="DockerOnly">The task's features only Docker runs (<see cref="Contracts.V1.RuntimeSupport.DockerOnlyFeatures"/>); null or empty skips the runtime filter.</param>
internal sealed record PlacementRequest(
    TaskResourceDemand Demand,
    int Count,
    IReadOnlyList<PlacementStrategy> Strategies,
    IReadOnlyList<PlacementConstraint> Constraints,
    string Group,
    TaskPolicyDemand? Policy = null,
    IReadOnlyList<string>? DockerOnly = null);

/// <param name="HostPorts">The host port for each entry of the demand's ports, in the same order.</param>
internal sealed record PlacementDecision(int TaskOrdinal, int NodeIndex, string Node, IReadOnlyList<int> HostPorts);

/// <param name="Reason">ECS-style code: RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, CONSTRAINT, POLICY or NO_ACTIVE_NODES.</param>
/// <param name="Detail">Node counts per reason, most common first.</param>
internal sealed record PlacementFailure(int TaskOrdinal, string Reason, string Detail);

internal sealed record PlacementResult(IReadOnlyList<PlacementDecision> Placed, IReadOnlyList<PlacementFailure> Failed);
