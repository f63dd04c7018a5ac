namespace Orchestrator.Agent.Runtime;

/// <summary>
/// The few container operations the agent needs, in the agent's own records. Only
/// <see cref="DockerRuntime"/> touches Docker.DotNet and only <c>Containerd/</c> containerd's API; tests
/// use a hand-written fake, and one contract suite runs against both engines.
/// </summary>
internal interface IContainerRuntime
{
    /// <summary>What this runtime does itself; the rest the agent supplies or the scheduler keeps away.</summary>
    RuntimeCapabilities Capabilities { get; }

    /// <exception cref="RuntimeUnavailableException">The engine cannot be reached.</exception>
    Task<RuntimeInfo> InfoAsync(CancellationToken cancellation);

    /// <summary>Pulls the image unless it is present.</summary>
    /// <exception cref="ImagePullException">It is missing and cannot be pulled.</exception>
    Task EnsureImageAsync(string image, CancellationToken cancellation);

    /// <returns>The new container's id.</returns>
    /// <exception cref="ContainerOperationException">The engine refused to create it.</exception>
    Task<string> CreateAsync(ContainerSpec spec, CancellationToken cancellation);

    /// <exception cref="ContainerOperationException">It did not start (port taken, bad command...).</exception>
    Task StartAsync(string id, CancellationToken cancellation);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="timeout"/>. Stopping a stopped container is fine.</summary>
    Task StopAsync(string id, TimeSpan timeout, CancellationToken cancellation);

    /// <summary>Removes the container, running or not. Removing a missing one is fine.</summary>
    Task RemoveAsync(string id, CancellationToken cancellation);

    /// <summary>
    /// Undoes what a crash left of containers that no longer exist (their network namespace, port
    /// mappings, files). Called once at agent start, after adoption. Docker's engine owns all of it and
    /// has nothing to do.
    /// </summary>
    Task RemoveLeftoversAsync(CancellationToken cancellation);

    /// <returns>Null when there is no such container.</returns>
    Task<ContainerInfo?> InspectAsync(string id, CancellationToken cancellation);

    /// <summary>Every container, running or not, that carries the label key=value.</summary>
    Task<IReadOnlyList<ContainerInfo>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation);

    /// <summary>Container events (start, die, oom, health) of containers labelled key=value, until cancelled or the engine goes away.</summary>
    IAsyncEnumerable<RuntimeEvent> EventsAsync(string labelKey, string labelValue, CancellationToken cancellation);

    // Volumes and networks of tasks (TaskEnvironment).

    /// <summary>Creates a named volume. Creating one that exists with the same driver changes nothing.</summary>
    /// <exception cref="ContainerOperationException">The engine refused (a volume driver that is missing...).</exception>
    Task CreateVolumeAsync(VolumeSpec spec, CancellationToken cancellation);

    Task<bool> VolumeExistsAsync(string name, CancellationToken cancellation);

    /// <summary>Removing a missing one is fine.</summary>
    /// <exception cref="ContainerOperationException">It is still in use.</exception>
    Task RemoveVolumeAsync(string name, CancellationToken cancellation);

    /// <summary>Every volume that carries the label key=value.</summary>
    Task<IReadOnlyList<LabelledResource>> ListVolumesAsync(string labelKey, string labelValue, CancellationToken cancellation);

    /// <summary>Creates a bridge network. Creating one that exists changes nothing.</summary>
    /// <exception cref="ContainerOperationException">The engine refused (no address pool left...).</exception>
    Task CreateNetworkAsync(NetworkSpec spec, CancellationToken cancellation);

    /// <summary>Removing a missing one is fine.</summary>
    /// <exception cref="ContainerOperationException">A running container is still attached.</exception>
    Task RemoveNetworkAsync(string name, CancellationToken cancellation);

    /// <summary>Every network that carries the label key=value.</summary>
    Task<IReadOnlyList<LabelledResource>> ListNetworksAsync(string labelKey, string labelValue, CancellationToken cancellation);

    // Task sessions (logs and exec, Sessions/).

    /// <summary>
    /// A container's output as the engine kept it, stdout and stderr told apart (all stdout for a
    /// container made with a tty). Ends at the end of what was written, or with follow when the
    /// container stops; ending the enumeration closes the engine's stream.
    /// </summary>
    /// <exception cref="ContainerOperationException">The engine refused (the container is gone...).</exception>
    IAsyncEnumerable<OutputChunk> ReadLogsAsync(string id, LogReadOptions options, CancellationToken cancellation);

    /// <summary>Starts a command in a running container, attached to its input and output.</summary>
    /// <exception cref="ContainerOperationException">The engine refused (the container is not running...).</exception>
    Task<IExecProcess> ExecAsync(string id, ExecSpec spec, CancellationToken cancellation);
}

/// <param name="LiveRestore">Docker's live-restore: containers keep running while dockerd restarts. Null where the runtime has no such setting.</param>
internal sealed record RuntimeInfo(int Cpus, long MemoryBytes, string OperatingSystem, string Architecture, string Version, bool? LiveRestore = null);

internal sealed record PortSpec(int ContainerPort, int HostPort, bool Udp, string HostIp);

internal sealed record HealthCheckSpec(IReadOnlyList<string> Test, TimeSpan Interval, TimeSpan Timeout, int Retries, TimeSpan StartPeriod);

/// <summary>Everything needed to create one container.</summary>
internal sealed record ContainerSpec(
    string Name,
    string Image,
    IReadOnlyList<string> Command,
    IReadOnlyList<string> EntryPoint,
    IReadOnlyList<string> Environment,
    int CpuShares,
    long MemoryBytes,
    long MemoryReservationBytes,
    IReadOnlyList<PortSpec> Ports,
    HealthCheckSpec? HealthCheck,
    int StopTimeoutSeconds,
    IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>Storage, secrets, logs, network and runtime options.</summary>
    public ContainerOptions Options { get; init; } = ContainerOptions.Default;
}

internal enum ContainerHealth
{
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// <summary>A container as the engine reports it.</summary>
internal sealed record ContainerInfo(
    string Id,
    IReadOnlyDictionary<string, string> Labels,
    bool Running,
    int? ExitCode,
    bool OomKilled,
    string Error,
    ContainerHealth Health,
    IReadOnlyList<PortSpec> Ports,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);

internal enum RuntimeEventKind
{
    Started,
    Died,
    OutOfMemory,
    HealthChanged,
}

internal sealed record RuntimeEvent(RuntimeEventKind Kind, string ContainerId, IReadOnlyDictionary<string, string> Labels, int? ExitCode, ContainerHealth Health);

internal sealed class RuntimeUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

internal sealed class ImagePullException(string message, Exception? inner = null) : Exception(message, inner);

internal sealed class ContainerOperationException(string message, Exception? inner = null) : Exception(message, inner);
