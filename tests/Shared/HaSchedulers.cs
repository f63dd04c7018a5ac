using Grpc.Core;
using Grpc.Net.Client;

namespace Orchestrator.Tests.Shared;

/// <summary>
/// Several schedulers on one etcd (Scheduler:Store=etcd), each a real process with its own port and data
/// directory, as an HA deployment runs them. The first one started leads; the others follow as standbys.
/// A supervisor restarts a scheduler that exits with 2 (etcd unreachable), 4 (store lost) or 5 (deposed), as systemd's
/// Restart=on-failure does, a bounded number of times; a scheduler the test killed stays down until
/// <see cref="Start"/>. Shared by the test projects through a linked source file.
/// </summary>
internal sealed class HaSchedulers : IDisposable
{
    /// <summary>
    /// The scheduler's exit codes the supervisor restarts on: 2 (etcd unreachable at start), 4 (store lost),
    /// 5 (deposed). systemd's Restart=on-failure restarts these too; a crash by the test's SIGKILL it does not see.
    /// </summary>
    public static readonly IReadOnlySet<int> RestartedExitCodes = new HashSet<int> { 2, 4, 5 };

    /// <summary>Restarts per scheduler the supervisor allows: a scheduler that keeps exiting is a failure to see, not to hide.</summary>
    public const int MaxRestartsEach = 10;

    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(60);

    private readonly string _directory;
    private readonly bool _ownsEtcd;
    private readonly HaScheduler[] _schedulers;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _supervisor;
    private readonly Lock _lock = new();
    private GrpcChannel[] _channels = [];
    private bool _disposed;

    private HaSchedulers(EtcdCluster etcd, bool ownsEtcd, string directory, HaScheduler[] schedulers)
    {
        Etcd = etcd;
        _ownsEtcd = ownsEtcd;
        _directory = directory;
        _schedulers = schedulers;
        _supervisor = Task.Run(SuperviseAsync);
        Failover = new FailoverCallInvoker(this);
    }

    public EtcdCluster Etcd { get; }

    /// <summary>The etcd key prefix these schedulers share (unique per fixture).</summary>
    public string Prefix { get; private set; } = "";

    public int Count => _schedulers.Length;

    public IReadOnlyList<HaScheduler> Schedulers => _schedulers;

    /// <summary>Every scheduler's https URL, comma-separated, as Agent:SchedulerAddress and the CLI take them.</summary>
    public string Addresses => string.Join(",", _schedulers.Select(s => s.Url));

    /// <summary>The bootstrap admin token: the first leader wrote it into its own data directory only.</summary>
    public string AdminToken => ReadFromAnyDirectory(SchedulerChannel.AdminTokenFile);

    /// <summary>The join token, from whichever data directory holds join.token.</summary>
    public string JoinToken => ReadFromAnyDirectory("join.token");

    /// <summary>Calls unary methods on the scheduler that last answered, moving on to the next on UNAVAILABLE (bounded); see <see cref="FailoverCallInvoker"/>.</summary>
    public FailoverCallInvoker Failover { get; }

    /// <summary>A channel to scheduler <paramref name="index"/> only (TLS against the shared CA, the admin token on every call).</summary>
    public GrpcChannel Channel(int index) => _channels[index];

    /// <summary>
    /// Starts <paramref name="count"/> schedulers on <paramref name="etcd"/> (or on a 3-member etcd of its own,
    /// stopped with it), one after the other, so that the first leads: it is waited for as the leader, then
    /// each standby until it answers SERVING (it follows and knows the leader).
    /// </summary>
    /// <param name="settings">Extra settings for every scheduler, e.g. "--Scheduler:HeartbeatTimeout=00:00:05".</param>
    public static async Task<HaSchedulers> StartAsync(int count = 3, EtcdCluster? etcd = null, TimeSpan? leaseTtl = null, params string[] settings)
    {
        var ownsEtcd = etcd is null;
        etcd ??= await EtcdCluster.StartAsync(3);
        var directory = Directory.CreateTempSubdirectory("orchestrator-ha-").FullName;
        var prefix = $"/orchestrator/e2e-{Guid.NewGuid():N}";
        var ttl = leaseTtl ?? TimeSpan.FromSeconds(4);
        var schedulers = Enumerable.Range(0, count).Select(index =>
        {
            var port = DaemonProcess.FreePort();
            var dataDirectory = Path.Combine(directory, $"s{index}");
            Directory.CreateDirectory(dataDirectory);
            string[] all =
            [
                "--Scheduler:Store=etcd",
                $"--Scheduler:Etcd:Endpoints={etcd.Endpoints}",
                $"--Scheduler:Etcd:Prefix={prefix}",
                $"--Scheduler:Etcd:LeaseTtl={ttl:hh\\:mm\\:ss}",
                $"--Scheduler:AdvertiseAddress=127.0.0.1:{port}",
                .. settings,
            ];
            return new HaScheduler(index, port, dataDirectory, all);
        }).ToArray();

        var fixture = new HaSchedulers(etcd, ownsEtcd, directory, schedulers) { Prefix = prefix };
        try
        {
            fixture.Start(0);
            await fixture.WaitForLeaderAsync(StartLimit);

            // The first leader writes its tokens just after it took over.
            var deadline = DateTime.UtcNow + StartLimit;
            while (!File.Exists(Path.Combine(schedulers[0].DataDirectory, SchedulerChannel.AdminTokenFile)) || !File.Exists(Path.Combine(schedulers[0].DataDirectory, "join.token")))
            {
                if (DateTime.UtcNow > deadline || schedulers[0].Process!.HasExited)
                {
                    throw new InvalidOperationException("the first leader wrote no admin.token and join.token: " + fixture.Describe());
                }

                await Task.Delay(50);
            }

            fixture._channels = [.. schedulers.Select(s => SchedulerChannel.ForDaemon(s.Port, s.DataDirectory, token: fixture.AdminToken))];
            for (var i = 1; i < count; i++)
            {
                fixture.Start(i);
            }

            for (var i = 1; i < count; i++)
            {
                if (!await schedulers[i].Process!.WaitUntilServingAsync(fixture._channels[i]))
                {
                    throw new InvalidOperationException($"standby {i} did not answer SERVING: " + string.Join("\n", schedulers[i].Output.TakeLast(30)));
                }
            }

            return fixture;
        }
        catch
        {
            fixture.Dispose();
            throw;
        }
    }

    /// <summary>Starts scheduler <paramref name="index"/> (again, on its port and data directory), without waiting; the supervisor watches it again.</summary>
    public void Start(int index)
    {
        lock (_lock)
        {
            var scheduler = _schedulers[index];
            if (scheduler.Process is { HasExited: false })
            {
                throw new InvalidOperationException($"scheduler {index} is running already");
            }

            scheduler.Launch();
        }
    }

    /// <summary>SIGKILL of scheduler <paramref name="index"/>, as a crash; it stays down (the supervisor leaves it) until <see cref="Start"/>.</summary>
    public void Kill(int index)
    {
        lock (_lock)
        {
            var scheduler = _schedulers[index];
            scheduler.KilledByTest = true;
            scheduler.Frozen = false;
            scheduler.Process?.KillHard();
        }
    }

    /// <summary>SIGSTOP of scheduler <paramref name="index"/>: it hangs with its sockets open, its lease running out.</summary>
    public void Freeze(int index)
    {
        lock (_lock)
        {
            _schedulers[index].Process!.Freeze();
            _schedulers[index].Frozen = true;
        }
    }

    /// <summary>SIGCONT of scheduler <paramref name="index"/>: it goes on where it stopped.</summary>
    public void Thaw(int index)
    {
        lock (_lock)
        {
            _schedulers[index].Process!.Thaw();
            _schedulers[index].Frozen = false;
        }
    }

    /// <summary>
    /// The scheduler that leads and may write, as the processes logged it: running, not frozen, and its last
    /// leadership line this run is "Took over as the leader" (after "is now the leader"; a deposed one logs
    /// "no longer the leader" and exits). Null while there is none. The log is what each process says of
    /// itself at once, with no call that could itself be forwarded or time out.
    /// </summary>
    public int? LeaderIndex
    {
        get
        {
            var leaders = _schedulers.Where(s => s.LeadsByLog).Select(s => s.Index).ToList();
            return leaders.Count == 1 ? leaders[0] : null;
        }
    }

    /// <summary>Waits, bounded, until one scheduler (other than <paramref name="not"/>, when given) leads and may write; returns its index.</summary>
    public async Task<int> WaitForLeaderAsync(TimeSpan timeout, int? not = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (LeaderIndex is { } leader && leader != not)
            {
                return leader;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no scheduler{(not is null ? "" : $" other than {not}")} took over as the leader within {timeout.TotalSeconds:0} s. {Describe()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Each scheduler's state and the tail of its log, for a failure message.</summary>
    public string Describe() => Describe(15);

    /// <summary>Each scheduler's state and the last <paramref name="lines"/> lines of its log (over its runs).</summary>
    public string Describe(int lines) => string.Join("\n", _schedulers.Select(s =>
        $"--- scheduler {s.Index} (port {s.Port}; {(s.Process is null ? "never started" : s.Process.HasExited ? "exited" : s.Frozen ? "frozen" : "running")}; exits {string.Join(",", s.ExitCodes)}):\n"
        + string.Join("\n", s.Output.TakeLast(lines))));

    private string ReadFromAnyDirectory(string file)
    {
        foreach (var scheduler in _schedulers)
        {
            var path = Path.Combine(scheduler.DataDirectory, file);
            if (File.Exists(path))
            {
                return File.ReadAllText(path).Trim();
            }
        }

        throw new InvalidOperationException($"no scheduler has written {file} yet");
    }

    /// <summary>Restarts, bounded, each scheduler that exited with 2, 4 or 5 and that the test did not kill.</summary>
    private async Task SuperviseAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            lock (_lock)
            {
                foreach (var scheduler in _schedulers)
                {
                    if (scheduler.Process is not { HasExited: true } process || scheduler.KilledByTest || scheduler.ExitSeen)
                    {
                        continue;
                    }

                    scheduler.ExitSeen = true;
                    var code = process.WaitForExit(TimeSpan.FromSeconds(5));
                    scheduler.ExitCodes.Add(code);
                    if (RestartedExitCodes.Contains(code) && scheduler.ExitCodes.Count <= MaxRestartsEach && !_stopping.IsCancellationRequested)
                    {
                        scheduler.Launch();
                    }
                }
            }

            try
            {
                await Task.Delay(200, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping.Cancel();
        _supervisor.Wait(TimeSpan.FromSeconds(5));
        foreach (var scheduler in _schedulers)
        {
            scheduler.Process?.Dispose(); // SIGKILL ends a frozen process too
        }

        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        if (_ownsEtcd)
        {
            Etcd.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless; failing the test over it is not.
        }
    }
}

/// <summary>One scheduler of <see cref="HaSchedulers"/>: its port, data directory, settings, and its process and exits over its runs.</summary>
internal sealed class HaScheduler(int index, int port, string dataDirectory, string[] settings)
{
    private readonly List<string> _pastOutput = [];

    public int Index { get; } = index;

    public int Port { get; } = port;

    public string Url => $"https://127.0.0.1:{Port}";

    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The current (or last) run; null before the first start.</summary>
    public DaemonProcess? Process { get; private set; }

    /// <summary>The exit codes the supervisor saw, in order (a kill by the test is not one of them).</summary>
    public List<int> ExitCodes { get; } = [];

    /// <summary>How many times this scheduler was started, by the test or the supervisor.</summary>
    public int Starts { get; private set; }

    internal bool KilledByTest { get; set; }

    internal bool ExitSeen { get; set; }

    internal bool Frozen { get; set; }

    /// <summary>Every line it wrote (stdout and stderr) over all its runs, oldest first.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_pastOutput)
            {
                return Process is null ? [.. _pastOutput] : [.. _pastOutput, .. Process.StandardOutput, .. Process.StandardError];
            }
        }
    }

    /// <summary>Whether this run's last leadership line says it leads and took over, and it runs unfrozen.</summary>
    internal bool LeadsByLog
    {
        get
        {
            if (Process is not { HasExited: false } process || Frozen)
            {
                return false;
            }

            var last = process.StandardOutput.LastOrDefault(line =>
                line.Contains("Took over as the leader", StringComparison.Ordinal) || line.Contains("no longer the leader", StringComparison.Ordinal));
            return last is not null && last.Contains("Took over as the leader", StringComparison.Ordinal);
        }
    }

    internal void Launch()
    {
        lock (_pastOutput)
        {
            if (Process is not null)
            {
                _pastOutput.AddRange(Process.StandardOutput);
                _pastOutput.AddRange(Process.StandardError);
                Process.Dispose();
            }

            Process = DaemonProcess.StartScheduler(Path.Combine(DataDirectory, "scheduler.db"), Port, settings);
            Starts++;
            KilledByTest = false;
            ExitSeen = false;
            Frozen = false;
        }
    }
}

/// <summary>
/// A client of the HA schedulers as a failover-aware client is: unary calls go to the scheduler that
/// last answered; a call that fails UNAVAILABLE (the scheduler is gone, or knows no leader, or its leader
/// did not answer) or that its own attempt deadline ended is sent again, the same request (so the same
/// client token), to the next scheduler, for at most <see cref="TotalLimit"/>. Streaming calls go to the
/// current scheduler once. Every attempt is recorded in <see cref="Attempts"/>.
/// </summary>
internal sealed class FailoverCallInvoker(HaSchedulers schedulers) : CallInvoker
{
    /// <summary>How long one call may take over all its attempts (when the caller sets no deadline).</summary>
    public static readonly TimeSpan TotalLimit = TimeSpan.FromSeconds(45);

    /// <summary>One attempt's deadline: a frozen scheduler holds a call forever.</summary>
    public static readonly TimeSpan AttemptLimit = TimeSpan.FromSeconds(8);

    private readonly List<FailoverAttempt> _attempts = [];
    private int _current;

    /// <summary>Every attempt so far: the method, the scheduler tried, and the status it ended with.</summary>
    public IReadOnlyList<FailoverAttempt> Attempts
    {
        get { lock (_attempts) return [.. _attempts]; }
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var headers = new TaskCompletionSource<Metadata>(TaskCreationOptions.RunContinuationsAsynchronously);
        var last = new CallState();
        var response = CallWithFailoverAsync(method, host, options, request, headers, last);
        return new AsyncUnaryCall<TResponse>(response, headers.Task, () => last.Status, () => last.Trailers, () => { });
    }

    private async Task<TResponse> CallWithFailoverAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request,
        TaskCompletionSource<Metadata> headers, CallState last)
        where TRequest : class
        where TResponse : class
    {
        var end = options.Deadline ?? DateTime.UtcNow + TotalLimit;
        while (true)
        {
            var index = Volatile.Read(ref _current);
            var attemptEnd = DateTime.UtcNow + AttemptLimit < end ? DateTime.UtcNow + AttemptLimit : end;
            using var call = schedulers.Channel(index).CreateCallInvoker().AsyncUnaryCall(method, host, options.WithDeadline(attemptEnd), request);
            try
            {
                var response = await call.ResponseAsync;
                Record(method, index, StatusCode.OK, "");
                headers.TrySetResult(await call.ResponseHeadersAsync);
                last.Status = call.GetStatus();
                last.Trailers = call.GetTrailers();
                return response;
            }
            catch (RpcException e) when ((e.StatusCode == StatusCode.Unavailable || (e.StatusCode == StatusCode.DeadlineExceeded && attemptEnd < end)) && DateTime.UtcNow < end)
            {
                Record(method, index, e.StatusCode, e.Status.Detail);
                Interlocked.CompareExchange(ref _current, (index + 1) % schedulers.Count, index);
                await Task.Delay(200);
            }
            catch (RpcException e)
            {
                Record(method, index, e.StatusCode, e.Status.Detail);
                last.Status = e.Status;
                last.Trailers = e.Trailers;
                headers.TrySetResult([]);
                throw;
            }
        }
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        schedulers.Channel(Volatile.Read(ref _current)).CreateCallInvoker().AsyncServerStreamingCall(method, host, options, request);

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        schedulers.Channel(Volatile.Read(ref _current)).CreateCallInvoker().AsyncClientStreamingCall(method, host, options);

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        schedulers.Channel(Volatile.Read(ref _current)).CreateCallInvoker().AsyncDuplexStreamingCall(method, host, options);

    private void Record(IMethod method, int index, StatusCode status, string detail)
    {
        lock (_attempts)
        {
            _attempts.Add(new FailoverAttempt(method.FullName, index, status, detail));
        }
    }

    private sealed class CallState
    {
        public Status Status { get; set; }

        public Metadata Trailers { get; set; } = [];
    }
}

/// <summary>One attempt of a <see cref="FailoverCallInvoker"/> call.</summary>
internal sealed record FailoverAttempt(string Method, int Scheduler, StatusCode Status, string Detail);
