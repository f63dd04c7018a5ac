using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Orchestrator.Agent.Runtime;

namespace Orchestrator.Agent.Tests;

/// <summary>
/// A container engine in memory. Tests make it fail where they need (a pull, a create, a start) and
/// make containers die; it records what exists so a test can check nothing is left behind.
/// </summary>
internal sealed class FakeRuntime : IContainerRuntime
{
    private readonly object _gate = new();
    private readonly Dictionary<string, FakeContainer> _containers = [];
    private int _ids;

    /// <summary>Docker's by default; a test of what the agent supplies gives it containerd's.</summary>
    public RuntimeCapabilities Capabilities { get; set; } = RuntimeCapabilities.OfDocker;

    public HashSet<string> MissingImages { get; } = [];
    public HashSet<string> FailCreateFor { get; } = [];
    public HashSet<string> FailStartFor { get; } = [];

    /// <summary>Containers (by container label) that exit as soon as they start, with this code.</summary>
    public Dictionary<string, int> ExitAtStart { get; } = [];

    /// <summary>Failures the next event subscriptions end with, one per subscription, in order.</summary>
    public Queue<Exception> EventStreamFailures { get; } = new();

    /// <summary>While set, every container, volume and network operation throws it (dockerd restarting, say).</summary>
    public Exception? Down { get; set; }

    /// <summary>Creates of these containers throw this, as an exception the runtime did not map would escape.</summary>
    public Dictionary<string, Exception> CreateFaults { get; } = [];

    private void ThrowIfDown()
    {
        if (Down is { } down)
        {
            throw down;
        }
    }

    /// <summary>How many times InfoAsync fails (the engine is down) before it answers.</summary>
    public int InfoFailures { get; set; }

    public int EventSubscriptions { get; private set; }

    public int Creates { get; private set; }
    public int Starts { get; private set; }

    /// <summary>The container label of every start, in order (a restart in place appears again).</summary>
    public List<string> StartLog { get; } = [];

    public IReadOnlyList<FakeContainer> Containers
    {
        get { lock (_gate) return [.. _containers.Values]; }
    }

    public Task<RuntimeInfo> InfoAsync(CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (InfoFailures > 0)
            {
                InfoFailures--;
                throw new RuntimeUnavailableException("Docker is not reachable at fake: Connection refused");
            }
        }

        return Task.FromResult(new RuntimeInfo(2, 4L * 1024 * 1024 * 1024, "linux", "x86_64", "fake-1"));
    }

    public Task EnsureImageAsync(string image, CancellationToken cancellation) =>
        MissingImages.Contains(image)
            ? throw new ImagePullException($"CannotPullContainerError: pull access denied for {image}")
            : Task.CompletedTask;

    public Task<string> CreateAsync(ContainerSpec spec, CancellationToken cancellation)
    {
        ThrowIfDown();
        var container = spec.Labels[ContainerLabels.Container];
        if (CreateFaults.TryGetValue(container, out var fault))
        {
            throw fault;
        }

        if (FailCreateFor.Contains(container))
        {
            throw new ContainerOperationException($"CannotCreateContainerError: no such file for {container}");
        }

        lock (_gate)
        {
            Creates++;
            var id = $"c{++_ids:D4}";
            _containers[id] = new FakeContainer(id, spec);
            return Task.FromResult(id);
        }
    }

    public Task StartAsync(string id, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            var container = _containers[id];
            var name = container.Spec.Labels[ContainerLabels.Container];
            if (FailStartFor.Contains(name))
            {
                throw new ContainerOperationException("CannotStartContainerError: port is already allocated");
            }

            Starts++;
            StartLog.Add(name);
            container.StartCount++;
            container.Running = true;
            container.ExitCode = null;
            container.Health = container.Spec.HealthCheck is null ? ContainerHealth.None : ContainerHealth.Starting;
            if (ExitAtStart.TryGetValue(name, out var code))
            {
                container.Running = false;
                container.ExitCode = code;
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(string id, TimeSpan timeout, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            if (_containers.TryGetValue(id, out var container) && container.Running)
            {
                container.Running = false;
                container.ExitCode = 143;
                container.StopTimeout = timeout;
            }
        }

        return Task.CompletedTask;
    }

    public Task RemoveAsync(string id, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            _containers.Remove(id);
        }

        return Task.CompletedTask;
    }

    public Task<ContainerInfo?> InspectAsync(string id, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            return Task.FromResult(_containers.TryGetValue(id, out var container) ? container.Info() : null);
        }
    }

    public Task<IReadOnlyList<ContainerInfo>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<ContainerInfo>>([.. _containers.Values.Where(c => c.Spec.Labels.GetValueOrDefault(labelKey) == labelValue).Select(c => c.Info())]);
        }
    }

    public async IAsyncEnumerable<RuntimeEvent> EventsAsync(string labelKey, string labelValue, [EnumeratorCancellation] CancellationToken cancellation)
    {
        Exception? failure;
        lock (_gate)
        {
            EventSubscriptions++;
            EventStreamFailures.TryDequeue(out failure);
        }

        await Task.Yield();
        if (failure is not null)
        {
            throw failure;
        }

        await Task.Delay(Timeout.Infinite, cancellation);
        yield break;
    }

    /// <summary>The container exits on its own (or is killed outside the orchestrator); returns the event Docker would send.</summary>
    public RuntimeEvent Die(string id, int exitCode, bool oom = false)
    {
        lock (_gate)
        {
            var container = _containers[id];
            container.Running = false;
            container.ExitCode = exitCode;
            container.OomKilled = oom;
            return new RuntimeEvent(RuntimeEventKind.Died, id, container.Spec.Labels, exitCode, ContainerHealth.None);
        }
    }

    /// <summary>Its health check changes (it must run); returns the event Docker would send.</summary>
    public RuntimeEvent Health(string id, ContainerHealth health)
    {
        lock (_gate)
        {
            var container = _containers[id];
            container.Health = health;
            return new RuntimeEvent(RuntimeEventKind.HealthChanged, id, container.Spec.Labels, null, health);
        }
    }

    /// <summary>The container created for one container definition of the task.</summary>
    public FakeContainer Named(string taskId, string container)
    {
        lock (_gate)
        {
            return _containers.Values.Single(c => c.Spec.Labels[ContainerLabels.TaskId] == taskId && c.Spec.Labels[ContainerLabels.Container] == container);
        }
    }

    /// <summary>Puts a container on the engine as an earlier agent would have left it.</summary>
    public void Seed(string id, ContainerSpec spec, bool running, int? exitCode = null)
    {
        lock (_gate)
        {
            _containers[id] = new FakeContainer(id, spec) { Running = running, ExitCode = exitCode };
        }
    }

    // Volumes and networks (TaskEnvironment).

    private readonly Dictionary<string, VolumeSpec> _volumes = [];
    private readonly Dictionary<string, NetworkSpec> _networks = [];

    /// <summary>Volume drivers the engine has no plugin for: creating a volume of one fails, as Docker's lookup does.</summary>
    public HashSet<string> MissingVolumeDrivers { get; } = [];

    public IReadOnlyDictionary<string, VolumeSpec> Volumes
    {
        get { lock (_gate) return new Dictionary<string, VolumeSpec>(_volumes); }
    }

    public IReadOnlyDictionary<string, NetworkSpec> Networks
    {
        get { lock (_gate) return new Dictionary<string, NetworkSpec>(_networks); }
    }

    public Task CreateVolumeAsync(VolumeSpec spec, CancellationToken cancellation)
    {
        ThrowIfDown();
        if (MissingVolumeDrivers.Contains(spec.Driver))
        {
            throw new ContainerOperationException($"CannotCreateVolumeError: error looking up volume plugin {spec.Driver}: plugin \"{spec.Driver}\" not found");
        }

        lock (_gate)
        {
            _volumes.TryAdd(spec.Name, spec);
        }

        return Task.CompletedTask;
    }

    public Task<bool> VolumeExistsAsync(string name, CancellationToken cancellation)
    {
        lock (_gate) return Task.FromResult(_volumes.ContainsKey(name));
    }

    public Task RemoveVolumeAsync(string name, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            // As Docker: a volume that any container, running or not, mounts is in use.
            if (_containers.Values.Any(c => c.Spec.Options.Mounts.Any(m => m.Kind == MountKind.Volume && m.Source == name)))
            {
                throw new ContainerOperationException($"cannot remove volume {name}: volume is in use");
            }

            _volumes.Remove(name);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LabelledResource>> ListVolumesAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<LabelledResource>>([.. _volumes.Values.Where(v => v.Labels.GetValueOrDefault(labelKey) == labelValue).Select(v => new LabelledResource(v.Name, v.Labels))]);
        }
    }

    public Task CreateNetworkAsync(NetworkSpec spec, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            _networks.TryAdd(spec.Name, spec);
        }

        return Task.CompletedTask;
    }

    public Task RemoveNetworkAsync(string name, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            if (_containers.Values.Any(c => c.Running && c.Spec.Options.NetworkMode == name))
            {
                throw new ContainerOperationException($"cannot remove network {name}: network has active endpoints");
            }

            _networks.Remove(name);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LabelledResource>> ListNetworksAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        ThrowIfDown();
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<LabelledResource>>([.. _networks.Values.Where(n => n.Labels.GetValueOrDefault(labelKey) == labelValue).Select(n => new LabelledResource(n.Name, n.Labels))]);
        }
    }

    // Task sessions: logs and exec.

    private readonly Dictionary<string, Channel<OutputChunk>> _logs = [];
    private int _openLogStreams;

    /// <summary>Log reads throw this (the engine cannot read the container's logging driver, say).</summary>
    public Exception? LogsFault { get; set; }

    /// <summary>What each log read asked for, in order.</summary>
    public List<LogReadOptions> LogReads { get; } = [];

    /// <summary>Log streams open on the engine now: a session that ended must leave none.</summary>
    public int OpenLogStreams => Volatile.Read(ref _openLogStreams);

    /// <summary>The output of a container that a log read returns: written by the test, ended by completing it.</summary>
    public Channel<OutputChunk> LogsOf(string id)
    {
        lock (_gate)
        {
            return _logs.TryGetValue(id, out var channel) ? channel : _logs[id] = Channel.CreateUnbounded<OutputChunk>();
        }
    }

    public async IAsyncEnumerable<OutputChunk> ReadLogsAsync(string id, LogReadOptions options, [EnumeratorCancellation] CancellationToken cancellation)
    {
        ThrowIfDown();
        Channel<OutputChunk> logs;
        lock (_gate)
        {
            if (!_containers.ContainsKey(id))
            {
                throw new ContainerOperationException($"container {id} is gone");
            }

            LogReads.Add(options);
            if (LogsFault is { } fault)
            {
                throw fault;
            }

            logs = LogsOf(id);
        }

        Interlocked.Increment(ref _openLogStreams);
        try
        {
            await foreach (var chunk in logs.Reader.ReadAllAsync(cancellation))
            {
                yield return chunk;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _openLogStreams);
        }
    }

    /// <summary>
    /// Called with each exec as it starts (the container id, the process): a test scripts it there, ending it
    /// with an exit code at once or leaving it running (a probe that hangs). Unset, execs run until the test ends them.
    /// </summary>
    public Action<string, FakeExecProcess>? OnExec { get; set; }

    /// <summary>Every exec started, in order.</summary>
    public List<FakeExecProcess> Execs { get; } = [];

    private readonly Channel<FakeExecProcess> _execsStarted = Channel.CreateUnbounded<FakeExecProcess>();

    /// <summary>The next exec started (tests wait for it, at most <paramref name="bound"/>).</summary>
    public async Task<FakeExecProcess> NextExecAsync(TimeSpan bound) => await _execsStarted.Reader.ReadAsync().AsTask().WaitAsync(bound);

    public Task<IExecProcess> ExecAsync(string id, ExecSpec spec, CancellationToken cancellation)
    {
        ThrowIfDown();
        FakeExecProcess process;
        lock (_gate)
        {
            if (!_containers.TryGetValue(id, out var container) || !container.Running)
            {
                throw new ContainerOperationException($"Container {id} is not running");
            }

            process = new FakeExecProcess($"exec-{Execs.Count + 1}", spec);
            Execs.Add(process);
        }

        OnExec?.Invoke(id, process);

        _execsStarted.Writer.TryWrite(process);
        return Task.FromResult<IExecProcess>(process);
    }
}

internal sealed class FakeContainer(string id, ContainerSpec spec)
{
    public string Id { get; } = id;
    public ContainerSpec Spec { get; } = spec;
    public bool Running { get; set; }
    public int? ExitCode { get; set; }
    public bool OomKilled { get; set; }
    public TimeSpan? StopTimeout { get; set; }
    public ContainerHealth Health { get; set; }

    /// <summary>How many times it was started: more than once when restarted in place.</summary>
    public int StartCount { get; set; }

    public ContainerInfo Info() => new(Id, Spec.Labels, Running, Running ? null : ExitCode, OomKilled, "", Health, Spec.Ports, null, null);
}

/// <summary>A process started by exec: the test writes its output and ends it; it records its input.</summary>
internal sealed class FakeExecProcess(string id, ExecSpec spec) : IExecProcess
{
    private readonly object _gate = new();
    private readonly List<byte> _input = [];

    public ExecSpec Spec { get; } = spec;

    public Channel<(OutputStream Stream, byte[] Bytes)> Output { get; } = Channel.CreateUnbounded<(OutputStream, byte[])>();

    public List<(ushort Rows, ushort Columns)> Resizes { get; } = [];

    public bool InputClosed { get; private set; }

    public bool Disposed { get; private set; }

    public bool Killed { get; private set; }

    /// <summary>False: KillAsync fails to end it (a process the engine cannot kill).</summary>
    public bool Killable { get; set; } = true;

    public int? ExitCode { get; set; }

    public bool Running => ExitCode is null && !Killed;

    public string Id { get; } = id;

    public byte[] Input
    {
        get { lock (_gate) return [.. _input]; }
    }

    /// <summary>The process writes this.</summary>
    public void Write(OutputStream stream, string text) => Output.Writer.TryWrite((stream, System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>The process exits: its output ends.</summary>
    public void Exit(int code)
    {
        ExitCode = code;
        Output.Writer.TryComplete();
    }

    public async Task<(OutputStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken cancellation)
    {
        if (!await Output.Reader.WaitToReadAsync(cancellation) || !Output.Reader.TryRead(out var chunk))
        {
            return (OutputStream.Stdout, 0);
        }

        chunk.Bytes.CopyTo(buffer);
        return (chunk.Stream, chunk.Bytes.Length);
    }

    public Task WriteInputAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellation)
    {
        lock (_gate)
        {
            _input.AddRange(bytes.ToArray());
        }

        return Task.CompletedTask;
    }

    public void CloseInput() => InputClosed = true;

    public Task ResizeAsync(ushort rows, ushort columns, CancellationToken cancellation)
    {
        lock (_gate)
        {
            Resizes.Add((rows, columns));
        }

        return Task.CompletedTask;
    }

    public Task<ExecState> InspectAsync(CancellationToken cancellation) => Task.FromResult(new ExecState(Running, Running ? null : ExitCode ?? 137));

    public Task<bool> KillAsync(CancellationToken cancellation)
    {
        Killed = Killable || Killed;
        return Task.FromResult(!Running);
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
