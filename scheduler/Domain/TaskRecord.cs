namespace Orchestrator.Scheduler.Domain;

/// <summary>One task: where it was placed, what its containers did, and why it stopped.</summary>
internal sealed record TaskRecord
{
    public required string Id { get; init; }
    public required string Cluster { get; init; }
    public required string TaskDefinitionArn { get; init; }
    public required string Family { get; init; }
    public required int Revision { get; init; }
    public required string Node { get; init; }
    public required TaskState LastStatus { get; init; }
    public required TaskState DesiredStatus { get; init; }
    public required IReadOnlyList<ContainerRecord> Containers { get; init; }
    public required string Group { get; init; }
    public string StartedBy { get; init; } = "";
    public string Service { get; init; } = "";

    /// <summary>The service deployment that started the task, if a service did.</summary>
    public string Deployment { get; init; } = "";

    /// <summary>Its service has counted this task's failure (for backoff and the circuit breaker).</summary>
    public bool FailureCounted { get; init; }
    public required int Cpu { get; init; }
    public required int Memory { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? StoppingAt { get; init; }

    /// <summary>
    /// Asked to stop while registered in target groups: its targets drain, and its stop command goes to
    /// its agent only at this time or once the balancers report no connection left to it (ECS's
    /// DEACTIVATING). Null when its stop needs no draining, and again once the stop was released.
    /// </summary>
    public DateTimeOffset? DrainUntil { get; init; }

    /// <summary>When its held stop was released (drained, or the delay over); null when it was never held.</summary>
    public DateTimeOffset? DrainedAt { get; init; }

    /// <summary>Asked to stop, still running, its stop held while its targets drain (<see cref="DrainUntil"/>).</summary>
    public bool IsDraining => DrainUntil is not null && DesiredStatus == TaskState.Stopped && LastStatus != TaskState.Stopped;
    public DateTimeOffset? StoppedAt { get; init; }
    public TaskStopCode StopCode { get; init; }
    public string StoppedReason { get; init; } = "";
    public HealthState Health { get; init; }
    public long Version { get; init; } = 1;
    public IReadOnlyDictionary<string, string> Tags { get; init; } = Domain.Tags.None;

    /// <summary>What RunTask or StartTask changed in the definition for this task; null when nothing.</summary>
    public TaskOverrides? Overrides { get; init; }

    /// <summary>Scale-in protection (UpdateTaskProtection): its service leaves it running until then.</summary>
    public DateTimeOffset? ProtectedUntil { get; init; }

    public bool IsProtected(DateTimeOffset now) => ProtectedUntil > now;

    /// <summary>
    /// The version of each secret its containers reference, by valueFrom as written ("db" or "db:3"),
    /// pinned when it was placed: every start command of the task carries these versions' values, however
    /// often it is sent (an agent that registers again) and whatever was put since. Null when its task
    /// definition references no secret.
    /// </summary>
    public IReadOnlyDictionary<string, int>? SecretVersions { get; init; }

    /// <summary>Host ports this task holds on its node while it is not STOPPED.</summary>
    public IEnumerable<HostPortKey> HostPorts =>
        Containers.SelectMany(c => c.Bindings).Select(b => new HostPortKey(b.HostPort, b.Protocol));
}

internal sealed record ContainerRecord(
    string Name,
    string Image,
    bool Essential,
    TaskState LastStatus,
    IReadOnlyList<PortBinding> Bindings,
    string RuntimeId = "",
    int? ExitCode = null,
    string Reason = "",
    HealthState Health = HealthState.Unknown,
    int RestartCount = 0);

internal sealed record PortBinding(int ContainerPort, int HostPort, Protocol Protocol, string BindIp = "");
