using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>A service with its task counts, per deployment too, as the API shows it.</summary>
/// <param name="HealthyPerDeployment">For a service with the EXTERNAL controller: per task set, its healthy tasks desired RUNNING; null otherwise.</param>
internal sealed record ServiceView(
    ServiceRecord Service,
    int Running,
    int Pending,
    IReadOnlyDictionary<string, (int Running, int Pending)> PerDeployment,
    IReadOnlyDictionary<string, int>? HealthyPerDeployment = null);

/// <summary>A validated CreateService request.</summary>
/// <param name="External">The EXTERNAL deployment controller: no deployment of its own (<paramref name="TaskDefinition"/> may be empty), task sets instead.</param>
internal sealed record ServiceDefinition(
    string Cluster,
    string Name,
    string TaskDefinition,
    int DesiredCount,
    IReadOnlyList<StrategySpec> Strategies,
    IReadOnlyList<ConstraintSpec> Constraints,
    int MinimumHealthyPercent,
    int MaximumPercent,
    int HealthCheckGracePeriodSeconds,
    bool CircuitBreaker,
    bool Rollback,
    bool Daemon,
    IReadOnlyDictionary<string, string>? Tags = null,
    TagPropagation PropagateTags = TagPropagation.None,
    TaskOverrides? Overrides = null,
    IReadOnlyList<LoadBalancerSpec>? LoadBalancers = null,
    bool External = false);

/// <summary>A validated UpdateService request; null fields keep what the service has.</summary>
/// <param name="Overrides">Replace the primary deployment's overrides with these; null keeps them, unless <paramref name="ResetOverrides"/>.</param>
/// <param name="ResetOverrides">Without <paramref name="Overrides"/>: the service's tasks run with none.</param>
internal sealed record ServiceUpdate(
    string Cluster,
    string Name,
    int? DesiredCount,
    string? TaskDefinition,
    int? MinimumHealthyPercent,
    int? MaximumPercent,
    bool? CircuitBreaker,
    bool? Rollback,
    bool ForceNewDeployment,
    IReadOnlyList<StrategySpec>? Strategies = null,
    IReadOnlyList<ConstraintSpec>? Constraints = null,
    TagPropagation? PropagateTags = null,
    TaskOverrides? Overrides = null,
    bool ResetOverrides = false);

/// <summary>What new tasks of a service's primary deployment run with, worked out once per reconcile pass.</summary>
/// <param name="Demand">What one task reserves: the definition's, with the overrides' sizes.</param>
internal sealed record ServiceRun(TaskDefinitionEntry Definition, TaskResourceDemand Demand, TaskOverrides? Overrides);
