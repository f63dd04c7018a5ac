using Google.Protobuf.WellKnownTypes;
using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// One task as this agent runs it. Mutated only while holding <see cref="Gate"/>, so a start, a stop
/// and Docker's events for the same task never interleave.
/// </summary>
internal sealed class AgentTask(string id, string cluster, string taskDefinitionArn, TimeSpan? stopAfter = null)
{
    public string Id { get; } = id;
    public string Cluster { get; } = cluster;
    public string TaskDefinitionArn { get; } = taskDefinitionArn;
    public SemaphoreSlim Gate { get; } = new(1, 1);
    public TaskStatus LastStatus { get; set; } = TaskStatus.Provisioning;
    public List<AgentContainer> Containers { get; } = [];

    /// <summary>The task definition's disconnect.stopAfterSeconds: stop it after this long without the scheduler. Null: never.</summary>
    public TimeSpan? StopAfter { get; } = stopAfter;

    /// <summary>Its fence has been set off (a stop without the scheduler is under way). Only the fence check sets it.</summary>
    public bool Fenced { get; set; }

    /// <summary>The scheduler asked for a stop: its code and reason win over what the agent sees.</summary>
    public bool StopRequested { get; set; }
    public StopCode StopCode { get; set; }
    public string StoppedReason { get; set; } = "";
    public DateTimeOffset? StoppedAt { get; set; }

    public bool IsStopped => LastStatus == TaskStatus.Stopped;

    /// <summary>
    /// Whether the containers' start rules (dependsOn, restart policy...) are known. A task adopted after
    /// an agent restart has only its containers' labels until the scheduler's start command brings its
    /// definitions back (ReconcileAsync): until then nothing of it is started or restarted.
    /// </summary>
    public bool DefinitionsKnown { get; set; } = true;

    /// <summary>Fires when the earliest startTimeout a waiting container depends on runs out. Null while nothing waits.</summary>
    public ITimer? DependencyTimer { get; set; }

    public AgentContainer? ContainerWithRuntimeId(string runtimeId) => Containers.FirstOrDefault(c => c.RuntimeId == runtimeId);

    public TaskStateReport ToReport(DateTimeOffset now)
    {
        var report = new TaskStateReport
        {
            TaskId = Id,
            LastStatus = LastStatus,
            StopCode = StopCode,
            StoppedReason = StoppedReason,
            ObservedAt = Timestamp.FromDateTimeOffset(now),
        };
        report.Containers.AddRange(Containers.Select(c => c.ToState()));
        return report;
    }
}

/// <summary>One container of a task, as the agent knows it.</summary>
internal sealed class AgentContainer(string name, bool essential, int stopTimeoutSeconds)
{
    public string Name { get; } = name;
    public bool Essential { get; } = essential;
    public int StopTimeoutSeconds { get; } = stopTimeoutSeconds;
    public string RuntimeId { get; set; } = "";
    public TaskStatus Status { get; set; } = TaskStatus.Provisioning;
    public int? ExitCode { get; set; }
    public string Reason { get; set; } = "";
    public bool OomKilled { get; set; }
    public ContainerHealth Health { get; set; }
    public List<PortSpec> Ports { get; set; } = [];

    /// <summary>When it was last started (by this agent, or as Docker says for an adopted one). Null: created, never started.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    public bool HasStarted => StartedAt is not null;

    /// <summary>Starts in place by its restart policy.</summary>
    public int RestartCount { get; set; }

    /// <summary>The resolved host paths it binds, by volume name: checked again right before each start.</summary>
    public IReadOnlyDictionary<string, string> HostSources { get; set; } = new Dictionary<string, string>();

    /// <summary>When it may start and whether it is started again. <see cref="ContainerStartRules.None"/> until known.</summary>
    public ContainerStartRules Rules { get; set; } = ContainerStartRules.None;

    public ContainerState ToState()
    {
        var state = new ContainerState
        {
            Name = Name,
            RuntimeId = RuntimeId,
            LastStatus = Status,
            Reason = Reason,
            RestartCount = RestartCount,
            HealthStatus = Health switch
            {
                ContainerHealth.Healthy => HealthStatus.Healthy,
                ContainerHealth.Unhealthy => HealthStatus.Unhealthy,
                _ => HealthStatus.Unknown,
            },
        };
        if (ExitCode is { } exitCode)
        {
            state.ExitCode = exitCode;
        }

        state.NetworkBindings.AddRange(Ports.Select(p => new NetworkBinding
        {
            ContainerName = Name,
            ContainerPort = p.ContainerPort,
            HostPort = p.HostPort,
            Protocol = p.Udp ? TransportProtocol.Udp : TransportProtocol.Tcp,
            BindIp = p.HostIp,
        }));
        return state;
    }
}
