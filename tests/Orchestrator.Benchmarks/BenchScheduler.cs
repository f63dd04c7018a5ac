using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The scheduler daemon for a benchmark, as users run it (TLS, the admin token, agents joining with
/// the join token and connecting with their own certificates) or, as the baseline of the security
/// cost, with Scheduler:Insecure (cleartext, agents named by their registration; tokens still needed).
/// </summary>
internal sealed class BenchScheduler : IDisposable
{
    private readonly string _directory;
    private readonly string _dbPath;
    private readonly string[] _settings;
    private readonly List<GrpcChannel> _agentChannels = [];

    public BenchScheduler(string directory, bool secure, params string[] settings)
    {
        _directory = directory;
        _dbPath = Path.Combine(directory, "bench.db");
        Secure = secure;
        Port = DaemonProcess.FreePort();
        MetricsPort = DaemonProcess.FreePort();
        // Metrics on, as a scheduler runs by default (their cost is part of what is measured), on a free
        // port; a later "--Scheduler:MetricsListen=" in settings turns them off.
        _settings = [.. secure ? [] : new[] { "--Scheduler:Insecure=true" }, "--Logging:LogLevel:Default=Warning",
            $"--Scheduler:MetricsListen=127.0.0.1:{MetricsPort}", .. settings];
        Process = DaemonProcess.StartScheduler(_dbPath, Port, _settings);
        Channel = SchedulerChannel.ForDaemon(Port, directory, tls: secure, new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 });
    }

    public bool Secure { get; }
    public int Port { get; }

    /// <summary>Where /metrics is served (HTTP/1.1), unless the settings turned metrics off.</summary>
    public int MetricsPort { get; }
    public DaemonProcess Process { get; private set; }

    /// <summary>The API, with the admin token.</summary>
    public GrpcChannel Channel { get; }

    public string Address => $"{(Secure ? "https" : "http")}://127.0.0.1:{Port}";
    public string JoinTokenFile => Path.Combine(_directory, "join.token");

    /// <summary>Time each simulated agent's join took (key, CSR, Join call), in milliseconds.</summary>
    public List<double> JoinTimes { get; } = [];

    /// <summary>
    /// Waits until the scheduler serves; one on etcd (Scheduler:Store=etcd) also until it won the election
    /// and caught up ("Took over as the leader" in its log): a standby's SERVING forwards, it does not write.
    /// </summary>
    public async Task ServingAsync()
    {
        await Process.RequireServingAsync(Channel);
        if (_settings.Contains("--Scheduler:Store=etcd"))
        {
            await Polling.UntilAsync(() => Task.FromResult(Process.StandardOutput.Any(line => line.Contains("Took over as the leader", StringComparison.Ordinal))),
                "the scheduler on etcd takes over as the leader", TimeSpan.FromSeconds(60),
                () => "it wrote: " + string.Join("\n", Process.StandardOutput.TakeLast(10)), intervalMilliseconds: 20);
        }
    }

    /// <summary>Waits (at most a minute) until a real agent process has registered and holds its stream.</summary>
    public async Task AgentConnectedAsync(DaemonProcess agent)
    {
        var nodes = new NodeService.NodeServiceClient(Channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await nodes.ListNodesAsync(new ListNodesRequest())).Nodes.Any(n => n.AgentConnected))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the agent did not register: " + string.Join("\n", agent.StandardOutput.TakeLast(10)));
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Kills the scheduler with SIGKILL and starts it again on the same port and database.</summary>
    public void KillAndStartAgain()
    {
        Process.KillHard();
        Process.Dispose();
        Process = DaemonProcess.StartScheduler(_dbPath, Port, _settings);
    }

    /// <summary>Starts the scheduler again on the same port and database, after it exited.</summary>
    public void StartAgain()
    {
        Process.Dispose();
        Process = DaemonProcess.StartScheduler(_dbPath, Port, _settings);
    }

    /// <summary>
    /// The channel a simulated agent of this name talks on: its own connection, as a real agent's, over
    /// TLS with the node certificate it got by joining, or cleartext. (Sharing one connection among
    /// hundreds of agents would measure that connection, not the scheduler.)
    /// </summary>
    public async Task<GrpcChannel> AgentChannelAsync(string node)
    {
        if (!Secure)
        {
            return Track(GrpcChannel.ForAddress(Address));
        }

        var clock = Stopwatch.StartNew();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest($"CN={node}", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        var answer = await new AgentService.AgentServiceClient(Channel).JoinAsync(new JoinRequest
        {
            JoinToken = File.ReadAllText(JoinTokenFile).Trim(),
            NodeName = node,
            Csr = ByteString.CopyFrom(csr),
        });
        using var issued = X509Certificate2.CreateFromPem(answer.CertificatePem);
        using var withKey = issued.CopyWithPrivateKey(key);
        var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        lock (JoinTimes)
        {
            JoinTimes.Add(clock.Elapsed.TotalMilliseconds);
        }

        var caPath = Path.Combine(_directory, SchedulerChannel.CaFile);
        var channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions =
                {
                    ClientCertificates = [certificate],
                    RemoteCertificateValidationCallback = (_, server, _, _) => SchedulerChannel.IssuedByCa(server, caPath),
                },
            },
            DisposeHttpClient = true,
        });
        return Track(channel);
    }

    private GrpcChannel Track(GrpcChannel channel)
    {
        lock (_agentChannels)
        {
            _agentChannels.Add(channel);
        }

        return channel;
    }

    /// <summary>Simulated agents agent-0000, agent-0001, ..., each joined (over TLS) on a connection of its own.</summary>
    public async Task<List<SimulatedGrpcAgent>> SimulatedAgentsAsync(int count)
    {
        var agents = new List<SimulatedGrpcAgent>(count);
        for (var i = 0; i < count; i++)
        {
            var name = $"agent-{i:D4}";
            agents.Add(new SimulatedGrpcAgent(await AgentChannelAsync(name), name));
        }

        return agents;
    }

    /// <summary>
    /// Arguments for a real agent process that joins this scheduler. Its metrics endpoint is off: several
    /// bench agents run at once on this host and would all ask for the default port.
    /// </summary>
    public string[] AgentArguments(string node, string stateDirectory) => Secure
        ? [$"--Agent:SchedulerAddress={Address}", $"--Agent:JoinTokenFile={JoinTokenFile}", $"--Agent:StateDirectory={stateDirectory}", $"--Agent:NodeName={node}", "--Agent:MetricsListen="]
        : [$"--Agent:SchedulerAddress={Address}", $"--Agent:NodeName={node}", "--Agent:MetricsListen="];

    public void Dispose()
    {
        foreach (var channel in _agentChannels)
        {
            channel.Dispose();
        }

        Channel.Dispose();
        Process.Dispose();
    }
}
