using System.Diagnostics;

namespace Orchestrator.Tests.Shared;

/// <summary>
/// A real etcd cluster of one or three members, each a child process of Debian's /usr/bin/etcd on
/// loopback ports picked free, with its own data directory under one temporary directory. Members can
/// be killed, stopped and started again with their data, frozen and thawed, as the failures the
/// scheduler must survive. Shared by the test projects through a linked source file.
/// </summary>
internal sealed class EtcdCluster : IDisposable
{
    public const string EtcdPath = "/usr/bin/etcd";

    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly EtcdMember[] _members;
    private readonly string _directory;
    private bool _disposed;

    private EtcdCluster(string directory, EtcdMember[] members)
    {
        _directory = directory;
        _members = members;
    }

    /// <summary>Every member's client URL, comma-separated, as Scheduler:Etcd:Endpoints takes them.</summary>
    public string Endpoints => string.Join(",", _members.Select(member => member.ClientUrl));

    public IReadOnlyList<EtcdMember> Members => _members;

    /// <summary>
    /// Starts <paramref name="size"/> members (1 or 3) with <paramref name="extraArguments"/> passed to each
    /// (e.g. "--max-txn-ops=16"), and waits until every member answers healthy (a leader is elected), for at
    /// most 30 s. Throws with what the members wrote when it does not come up, or when etcd is not installed.
    /// </summary>
    public static Task<EtcdCluster> StartAsync(int size = 3, params string[] extraArguments) => StartAsync(size, null, extraArguments);

    /// <summary>
    /// As <see cref="StartAsync(int, string[])"/>; with <paramref name="tls"/>, the members serve clients on
    /// https only, with that certificate, and take only clients whose certificate the CA signed.
    /// </summary>
    public static async Task<EtcdCluster> StartAsync(int size, EtcdClusterTls? tls, params string[] extraArguments)
    {
        if (size is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "an etcd cluster here has 1 or 3 members");
        }

        if (!File.Exists(EtcdPath))
        {
            throw new InvalidOperationException($"{EtcdPath} is missing: run ./build.sh test (it installs Debian's etcd-server and etcd-client) or apt-get install -y etcd-server etcd-client");
        }

        var directory = Directory.CreateTempSubdirectory("orchestrator-etcd-").FullName;
        var token = "orchestrator-test-" + Guid.NewGuid().ToString("N");
        var members = Enumerable.Range(0, size)
            .Select(index => new EtcdMember($"m{index}", tls is null ? "http" : "https", DaemonProcess.FreePort(), DaemonProcess.FreePort(), DaemonProcess.FreePort(), Path.Combine(directory, $"m{index}")))
            .ToArray();
        var initialCluster = string.Join(",", members.Select(member => $"{member.Name}={member.PeerUrl}"));
        foreach (var member in members)
        {
            member.Arguments =
            [
                "--name", member.Name,
                "--data-dir", member.DataDirectory,
                "--listen-client-urls", member.ClientUrl,
                "--advertise-client-urls", member.ClientUrl,
                "--listen-peer-urls", member.PeerUrl,
                "--initial-advertise-peer-urls", member.PeerUrl,
                "--initial-cluster", initialCluster,
                "--initial-cluster-token", token,
                "--initial-cluster-state", "new",
                // Health is asked here, over plain http, whatever the client URLs need.
                "--listen-metrics-urls", member.MetricsUrl,
                .. (tls is null ? (string[])[] : ["--cert-file", tls.CertificateFile, "--key-file", tls.KeyFile, "--trusted-ca-file", tls.CaFile, "--client-cert-auth"]),
                "--log-level", "warn",
                "--logger", "zap",
                .. extraArguments,
            ];
        }

        var cluster = new EtcdCluster(directory, members);
        try
        {
            foreach (var member in members)
            {
                member.Start();
            }

            await cluster.WaitUntilHealthyAsync();
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>Waits until every running member answers /health with a leader, for at most 30 s.</summary>
    public async Task WaitUntilHealthyAsync()
    {
        var deadline = DateTime.UtcNow + StartLimit;
        foreach (var member in _members.Where(member => member.IsRunning))
        {
            while (!await member.IsHealthyAsync())
            {
                if (member.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException(
                        $"etcd member {member.Name} ({member.ClientUrl}) did not become healthy within {StartLimit.TotalSeconds:0} s{(member.HasExited ? " (it exited)" : "")}: "
                        + string.Join("\n", member.Output.TakeLast(30)));
                }

                await Task.Delay(100);
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
        foreach (var member in _members)
        {
            member.Kill();
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

    /// <summary>One etcd member: its ports, its data directory and its process while it runs.</summary>
    internal sealed class EtcdMember(string name, string scheme, int clientPort, int peerPort, int metricsPort, string dataDirectory)
    {
        private readonly List<string> _output = [];
        private Process? _process;

        public string Name { get; } = name;

        public string ClientUrl { get; } = $"{scheme}://127.0.0.1:{clientPort}";

        public string PeerUrl { get; } = $"http://127.0.0.1:{peerPort}";

        public string MetricsUrl { get; } = $"http://127.0.0.1:{metricsPort}";

        public string DataDirectory { get; } = dataDirectory;

        internal string[] Arguments { get; set; } = [];

        public bool IsRunning => _process is { HasExited: false };

        public bool HasExited => _process is null || _process.HasExited;

        /// <summary>The member's stderr and stdout lines over all its runs (etcd logs to stderr).</summary>
        public IReadOnlyList<string> Output
        {
            get { lock (_output) return [.. _output]; }
        }

        /// <summary>Starts (or restarts, with the data it has) this member; a running member is left as it is.</summary>
        public void Start()
        {
            if (IsRunning)
            {
                return;
            }

            _process?.Dispose();
            var info = new ProcessStartInfo(EtcdPath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in Arguments)
            {
                info.ArgumentList.Add(argument);
            }

            var process = Process.Start(info)!;
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            _process = process;
        }

        /// <summary>Starts this member again and waits (at most 30 s) until it answers healthy.</summary>
        public async Task RestartAsync()
        {
            Start();
            var deadline = DateTime.UtcNow + StartLimit;
            while (!await IsHealthyAsync())
            {
                if (HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"etcd member {Name} did not become healthy again: " + string.Join("\n", Output.TakeLast(30)));
                }

                await Task.Delay(100);
            }
        }

        /// <summary>SIGKILL: the member dies as in a crash; its data stays for <see cref="Start"/>.</summary>
        public void Kill()
        {
            if (_process is null || _process.HasExited)
            {
                return;
            }

            Signal(PosixSignal.Cont); // a frozen process dies on SIGKILL too, but its pipes drain only when it runs
            _process.Kill();
            _process.WaitForExit(10_000);
        }

        /// <summary>SIGTERM and a wait of at most 10 s (then SIGKILL): a graceful stop, data kept.</summary>
        public void Stop()
        {
            if (_process is null || _process.HasExited)
            {
                return;
            }

            Signal(PosixSignal.Term);
            if (!_process.WaitForExit(10_000))
            {
                Kill();
            }
        }

        /// <summary>SIGSTOP: the member hangs with its sockets open, as a paused VM.</summary>
        public void Freeze() => Signal(PosixSignal.Stop);

        /// <summary>SIGCONT: a frozen member goes on.</summary>
        public void Thaw() => Signal(PosixSignal.Cont);

        /// <summary>Whether GET /health answers {"health":"true"} (etcd says so only with a leader) within 2 s.</summary>
        public async Task<bool> IsHealthyAsync()
        {
            try
            {
                var body = await Http.GetStringAsync(MetricsUrl + "/health");
                return body.Contains("\"health\":\"true\"", StringComparison.Ordinal);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }

        private void Signal(int signal)
        {
            if (_process is null || _process.HasExited)
            {
                return;
            }

            PosixSignal.Send(_process.Id, signal);
        }
    }
}

/// <summary>PEM files for members that serve clients on https and require client certificates.</summary>
/// <param name="CaFile">The CA that signed the member's and the clients' certificates.</param>
/// <param name="CertificateFile">The members' server certificate (for 127.0.0.1).</param>
/// <param name="KeyFile">Its key.</param>
internal sealed record EtcdClusterTls(string CaFile, string CertificateFile, string KeyFile);
