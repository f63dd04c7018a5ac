using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// What the targets are derived from, read from the state in one go: the target groups, and every
/// service that names target groups with its tasks (those not yet STOPPED are enough).
/// </summary>
internal sealed record LoadBalancingInputs(
    IReadOnlyCollection<TargetGroupRecord> TargetGroups,
    IReadOnlyList<BalancedService> Services,
    DateTimeOffset Now)
{
    public static LoadBalancingInputs Empty(DateTimeOffset now) => new([], [], now);
}

/// <summary>A service with load balancers and its tasks.</summary>
internal sealed record BalancedService(ServiceRecord Service, IReadOnlyList<BalancedTask> Tasks);

/// <summary>One task of such a service and what the targets need to know besides the task.</summary>
/// <param name="NodeHost">The node's address as <see cref="NodeAddress.Of"/> says (empty: unknown).</param>
/// <param name="Advertised">The node advertises its address (its bindings' addresses do not override it).</param>
/// <param name="HealthChecked">Its task definition has a container health check: it is a target only once HEALTHY.</param>
internal sealed record BalancedTask(TaskRecord Task, string NodeHost, bool Advertised, bool HealthChecked);
