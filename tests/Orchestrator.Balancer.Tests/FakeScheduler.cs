using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Balancer.Tests;

/// <summary>
/// The scheduler's side of BalancerService.Connect, faked on Kestrel (h2c on 127.0.0.1): takes the hello
/// and the authorization header, sends the assignments queued, and keeps every report.
/// </summary>
internal sealed class FakeScheduler : BalancerService.BalancerServiceBase, IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeScheduler(WebApplication app) => _app = app;

    public Channel<BalancerAssignment> Assignments { get; } = Channel.CreateUnbounded<BalancerAssignment>();

    public Channel<BalancerReport> Reports { get; } = Channel.CreateUnbounded<BalancerReport>();

    public BalancerHello? Hello { get; private set; }

    public string? Authorization { get; private set; }

    public Uri Address { get; private set; } = null!;

    public static async Task<FakeScheduler> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        FakeScheduler? fake = null;
        builder.Services.AddSingleton(_ => fake!);
        var app = builder.Build();
        fake = new FakeScheduler(app);
        app.MapGrpcService<FakeScheduler>();
        await app.StartAsync();
        fake.Address = new Uri(app.Urls.First());
        return fake;
    }

    public override async System.Threading.Tasks.Task Connect(IAsyncStreamReader<BalancerMessage> requestStream, IServerStreamWriter<BalancerAssignment> responseStream, ServerCallContext context)
    {
        Authorization = context.RequestHeaders.GetValue("authorization");
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.BodyCase != BalancerMessage.BodyOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "hello first"));
        }

        Hello = requestStream.Current.Hello;
        var reading = System.Threading.Tasks.Task.Run(async () =>
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                Reports.Writer.TryWrite(requestStream.Current.Report);
            }
        });
        await foreach (var assignment in Assignments.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(assignment);
        }

        await reading;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
