using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// A real scheduler in memory (the app's own Program and wiring) on a LiteDB file of the test's, with a
/// fake clock, reached over gRPC through the test server. Dispose it and open another on the same
/// file to restart the scheduler.
/// </summary>
internal sealed class SchedulerHost : WebApplicationFactory<Program>
{
    private GrpcChannel? _channel;

    public SchedulerHost(string dataPath, FakeTimeProvider? clock = null, ulong seed = 12345)
    {
        DataPath = dataPath;
        Clock = clock ?? new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        Seed = seed;
    }

    public string DataPath { get; }
    public FakeTimeProvider Clock { get; }
    public ulong Seed { get; }

    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = Server.CreateHandler(),
        MaxReceiveMessageSize = 16 * 1024 * 1024,
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
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Clock));
    }

    protected override void Dispose(bool disposing)
    {
        _channel?.Dispose();
        base.Dispose(disposing);
    }
}
