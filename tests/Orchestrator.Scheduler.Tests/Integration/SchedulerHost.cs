using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// A real scheduler in memory (the app's own Program and wiring) on a LiteDB file of the test's, with a
/// fake clock, reached over gRPC through the test server with the bootstrap admin token. Dispose it
/// and open another on the same file to restart the scheduler. The test server has no TLS: the
/// scheduler runs with Scheduler:Insecure (agents named by their registration) unless a test asks for
/// certificates, and then hands each agent's client certificate to the call itself.
/// The test server replaces Kestrel, but Program still checks that its listen addresses can be bound
/// and stops (exit 3) when one cannot: each host names ports of its own, so a daemon elsewhere on the
/// machine on the defaults (7400, 9400) cannot stop an in-process scheduler from starting.
/// (They are picked below the ephemeral range: see <see cref="PortOutsideEphemeralRange"/>.)
/// </summary>
internal sealed class SchedulerHost : WebApplicationFactory<Program>
{
    private GrpcChannel? _channel;

    private readonly IReadOnlyDictionary<string, string> _settings;

    /// <param name="settings">More scheduler settings, e.g. "Scheduler:NodeCertificateLifetime".</param>
    public SchedulerHost(string dataPath, FakeTimeProvider? clock = null, ulong seed = 12345, bool certificates = false, string logLevel = "Warning",
        IReadOnlyDictionary<string, string>? settings = null)
    {
        LogLevel = logLevel;
        _settings = settings ?? new Dictionary<string, string>();
        DataPath = dataPath;
        Clock = clock ?? new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        Seed = seed;
        Certificates = certificates;
        GrpcPort = PortOutsideEphemeralRange();
        MetricsPort = PortOutsideEphemeralRange();
    }

    /// <summary>
    /// A port free now and below Linux's ephemeral range (32768 and up): a port the kernel hands out
    /// (port 0) can be taken again as the local port of any outgoing connection (etcd clients, agents)
    /// between the pick and Program's check, which then stops the host. Ports
    /// down here are only ever taken by a bind that asks for them.
    /// </summary>
    private static int PortOutsideEphemeralRange()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Taken: try another.
            }
        }

        return Orchestrator.Tests.Shared.DaemonProcess.FreePort();
    }

    /// <summary>The port of Scheduler:Listen (nothing listens on it: calls go through the test server).</summary>
    public int GrpcPort { get; }

    /// <summary>The port of Scheduler:MetricsListen: a request with this port in its Host reaches /metrics.</summary>
    public int MetricsPort { get; }

    public string DataPath { get; }
    public string LogLevel { get; }

    /// <summary>Every line the scheduler logged at <see cref="LogLevel"/> or above, with its exception.</summary>
    public CapturedLogs Logs { get; } = new();
    public string DataDirectory => Path.GetDirectoryName(Path.GetFullPath(DataPath))!;

    /// <summary>Agents are identified by their client certificates (the scheduler's default), not by name.</summary>
    public bool Certificates { get; }

    /// <summary>The bootstrap admin token the scheduler wrote on its first start.</summary>
    public string AdminToken => Orchestrator.Tests.Shared.SchedulerChannel.AdminToken(DataDirectory)
        ?? throw new InvalidOperationException("the scheduler wrote no admin token");
    public FakeTimeProvider Clock { get; }
    public ulong Seed { get; }

    /// <summary>Replaces some of the scheduler's services, e.g. a recording <c>ICommitFlush</c>.</summary>
    public Action<IServiceCollection>? ReplaceServices { get; init; }

    public GrpcChannel Channel => _channel ??= ChannelWith(AdminToken);

    /// <summary>A channel that sends this token (none when null), and this client certificate, if any.</summary>
    public GrpcChannel ChannelWith(string? token, System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate = null) =>
        GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = new Orchestrator.Tests.Shared.BearerTokenHandler(() => token)
            {
                // As a client on this host would come: from 127.0.0.1 (the scheduler takes an agent's address from it).
                InnerHandler = Server.CreateHandler(context =>
                {
                    context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
                    context.Connection.RemotePort = 40000;
                    if (clientCertificate is not null)
                    {
                        context.Connection.ClientCertificate = clientCertificate;
                    }
                }),
            },
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            DisposeHttpClient = true,
        });

    public ClusterService.ClusterServiceClient Clusters => new(Channel);
    public TaskDefinitionService.TaskDefinitionServiceClient TaskDefinitions => new(Channel);
    public NodeService.NodeServiceClient Nodes => new(Channel);
    public TaskService.TaskServiceClient Tasks => new(Channel);
    public AgentService.AgentServiceClient Agents => new(Channel);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Scheduler:DataPath", DataPath);
        builder.UseSetting("Scheduler:PlacementSeed", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Scheduler:Insecure", Certificates ? "false" : "true");
        builder.UseSetting("Scheduler:Listen", $"127.0.0.1:{GrpcPort}");
        builder.UseSetting("Scheduler:MetricsListen", $"127.0.0.1:{MetricsPort}");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseSetting("Logging:LogLevel:Default", LogLevel);
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            ReplaceServices?.Invoke(services);
        });
    }

    protected override void Dispose(bool disposing)
    {
        _channel?.Dispose();
        base.Dispose(disposing);
    }
}
