using System.Text.Json.Serialization;

namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// A service: keep <see cref="DesiredCount"/> tasks running, rolled out deployment by deployment.
/// <see cref="Deployments"/> is newest first; the first is the PRIMARY one, whose task definition new
/// tasks run.
/// </summary>
internal sealed record ServiceRecord
{
    public const int MaxEvents = 100;

    public required string Cluster { get; init; }
    public required string Name { get; init; }
    /// <summary>For a DAEMON service, the number of nodes it should run on, as of the last pass.</summary>
    public required int DesiredCount { get; init; }

    /// <summary>One task on every eligible node instead of DesiredCount placed tasks.</summary>
    public bool Daemon { get; init; }
    public required IReadOnlyList<StrategySpec> Strategies { get; init; }
    public required IReadOnlyList<ConstraintSpec> Constraints { get; init; }
    public int MinimumHealthyPercent { get; init; } = 100;
    public int MaximumPercent { get; init; } = 200;
    public int HealthCheckGracePeriodSeconds { get; init; }
    public bool CircuitBreaker { get; init; }
    public bool Rollback { get; init; }
    public required IReadOnlyList<DeploymentRecord> Deployments { get; init; }
    public IReadOnlyList<ServiceEventRecord> Events { get; init; } = [];
    public required DateTimeOffset CreatedAt { get; init; }

    public IReadOnlyDictionary<string, string> Tags { get; init; } = Domain.Tags.None;
    public TagPropagation PropagateTags { get; init; }

    /// <summary>Target groups its tasks are registered in (ECS's loadBalancers); empty for none.</summary>
    public IReadOnlyList<LoadBalancerSpec> LoadBalancers { get; init; } = [];

    /// <summary>
    /// The EXTERNAL deployment controller: its deployments are task sets the user creates and scales
    /// (blue/green, canary); the service starts nothing by itself. False: ECS's rolling deployments.
    /// </summary>
    public bool External { get; init; }

    /// <summary>Deleted with force: scaled to zero, removed once its tasks are gone.</summary>
    public bool Deleting { get; init; }

    /// <summary>Failures in a row (tasks that failed to start or whose essential container exited).</summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>No new task before this, after failures (exponential backoff).</summary>
    public DateTimeOffset? NextStartAt { get; init; }

    // Worked out from the fields above, so not stored: the store writes a record's public properties.
    [JsonIgnore]
    public string Key => KeyOf(Cluster, Name);

    [JsonIgnore]
    public string Group => $"service:{Name}";

    [JsonIgnore]
    public DeploymentRecord Primary => Deployments[0];

    /// <summary>Failed tasks that trip the circuit breaker: half the desired count, from 3 to 200, as ECS.</summary>
    [JsonIgnore]
    public int FailureThreshold => Math.Clamp((int)Math.Ceiling(DesiredCount / 2.0), 3, 200);

    public static string KeyOf(string cluster, string name) => $"{cluster}/{name}";

    public ServiceRecord WithEvent(DateTimeOffset at, string message) => this with
    {
        Events = [new ServiceEventRecord(Guid.NewGuid().ToString("N"), at, message), .. Events.Take(MaxEvents - 1)],
    };
}

/// <summary>A placement strategy as the user gave it (type, field); parsed again where used.</summary>
internal sealed record StrategySpec(string Type, string Field);

/// <summary>A placement constraint as the user gave it.</summary>
internal sealed record ConstraintSpec(string Type, string Expression);

internal enum DeploymentStatus
{
    Primary,
    Active,
    Inactive,

    /// <summary>A deleted task set (EXTERNAL controller): its tasks stop; the record goes once none lives.</summary>
    Draining,
}

internal enum RolloutState
{
    InProgress,
    Completed,
    Failed,
}

/// <summary>One rollout of the service: a task definition and the overrides its tasks run with.</summary>
/// <param name="Overrides">
/// What the deployment's tasks change in the definition; null for none. Last and optional so that a
/// record stored before services took overrides reads as a deployment without any.
/// </param>
/// <param name="Scale">
/// For a task set (EXTERNAL controller): its scale, in percent of the service's desired count, which is
/// also its share of the balancers' traffic. Null for ECS's rolling deployments.
/// </param>
/// <param name="ExternalId">For a task set: the id the user gave it; empty otherwise.</param>
/// <param name="ClientToken">For a task set: the client token it was created with (a retry answers the same set); empty otherwise.</param>
internal sealed record DeploymentRecord(
    string Id,
    string TaskDefinitionArn,
    DeploymentStatus Status,
    RolloutState Rollout,
    string RolloutReason,
    int FailedTasks,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    TaskOverrides? Overrides = null,
    double? Scale = null,
    string ExternalId = "",
    string ClientToken = "");

internal sealed record ServiceEventRecord(string Id, DateTimeOffset CreatedAt, string Message);
