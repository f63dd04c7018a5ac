namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>The balancers' verdict on one task in one target group.</summary>
internal enum TargetVerdict
{
    /// <summary>No connected balancer reports on it (none connected, or not yet applied).</summary>
    Unknown = 0,

    /// <summary>Registered, not yet checked healthy as many times in a row as the group's threshold asks.</summary>
    Initial = 1,
    Healthy = 2,
    Unhealthy = 3,
}

/// <summary>How far a draining task's targets are: the connections left and whether every balancer has it draining.</summary>
/// <param name="Connections">Connections to the task's targets, summed over the balancers that report it.</param>
/// <param name="Drained">
/// Every connected balancer that serves one of its target groups reported the task's targets draining
/// (or gone) with no connection left: its stop need not wait for the deregistration delay.
/// </param>
internal readonly record struct DrainProgress(int Connections, bool Drained);

/// <summary>
/// What the balancers (orchestrator-balancer next to each HAProxy) report about the targets: kept in
/// memory by the leader only, never stored (after a failover the balancers report again within seconds).
/// The service pass reads it to gate deployments and replace unhealthy tasks; the drain releaser reads it
/// to stop a draining task early. A target is healthy when any connected balancer finds it healthy and
/// unhealthy only when all of those reporting do: one balancer's own network trouble must not get every
/// task replaced.
/// </summary>
internal interface ITargetHealth
{
    TargetVerdict Of(string targetGroup, string taskId);

    DrainProgress DrainOf(string taskId);

    /// <summary>Raised after a report changed some verdict or drain progress (on the reporting stream's thread).</summary>
    event Action? Changed;
}
