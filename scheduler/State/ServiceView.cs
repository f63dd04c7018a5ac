using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>A service with its task counts, per deployment too, as the API shows it.</summary>
internal sealed record ServiceView(
    ServiceRecord Service,
    int Running,
    int Pending,
    IReadOnlyDictionary<string, (int Running, int Pending)> PerDeployment);

/// <summary>A validated CreateService request.</summary>
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
    TagPropagation PropagateTags = TagPropagation.None);

/// <summary>A validated UpdateService request; null fields keep what the service has.</summary>
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
    TagPropagation? PropagateTags = null);
