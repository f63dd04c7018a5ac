using Microsoft.AspNetCore.Server.Kestrel.Core;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

var builder = WebApplication.CreateBuilder(args);
builder.Host.UseSystemd();
SchedulerServices.Add(builder.Services, builder.Configuration);

var listen = builder.Configuration.GetSection(SchedulerOptions.Section).Get<SchedulerOptions>()?.Listen ?? new SchedulerOptions().Listen;
builder.WebHost.ConfigureKestrel(kestrel =>
{
    // Cleartext gRPC is HTTP/2 only (h2c): with Http1AndHttp2 clients without TLS cannot negotiate.
    kestrel.Listen(ListenAddress.Parse(listen), endpoint => endpoint.Protocols = HttpProtocols.Http2);
});

var app = builder.Build();
SchedulerServices.Map(app);

try
{
    // Open the state before taking traffic: a bad database stops the daemon here, with one line.
    _ = app.Services.GetRequiredService<ClusterState>();
}
catch (StorageException e)
{
    Console.Error.WriteLine($"orchestrator-scheduler: {e.Message}");
    return 2;
}

try
{
    await app.RunAsync();
    return 0;
}
catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.GetType().Name == "AddressInUseException")
{
    Console.Error.WriteLine($"orchestrator-scheduler: cannot listen on {listen}: {e.Message}");
    return 3;
}

/// <summary>Visible to the in-process tests' WebApplicationFactory.</summary>
public partial class Program;
