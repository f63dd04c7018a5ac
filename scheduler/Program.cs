using Microsoft.AspNetCore.Server.Kestrel.Core;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

var builder = WebApplication.CreateBuilder(args);
builder.Host.UseSystemd();
SchedulerServices.Add(builder.Services, builder.Configuration);

var listen = builder.Configuration[$"{SchedulerOptions.Section}:{nameof(SchedulerOptions.Listen)}"] ?? new SchedulerOptions().Listen;
System.Net.IPEndPoint endpoint;
try
{
    endpoint = ListenAddress.Parse(listen);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"orchestrator-scheduler: {e.Message}");
    return 1;
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    // Cleartext gRPC is HTTP/2 only (h2c): with Http1AndHttp2 clients without TLS cannot negotiate.
    kestrel.Listen(endpoint, options => options.Protocols = HttpProtocols.Http2);
    // HTTP/2 pings find connections whose peer is gone or frozen even when no heartbeat is due.
    kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
    kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
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
catch (Exception e) when (e is FormatException or InvalidOperationException)
{
    // A setting that does not parse (a port range, a TimeSpan): say which, and stop.
    Console.Error.WriteLine($"orchestrator-scheduler: bad setting: {e.Message}");
    return 1;
}

if (PortProbe.WhyNotBindable(endpoint) is { } problem)
{
    Console.Error.WriteLine($"orchestrator-scheduler: cannot listen on {endpoint}: {problem}");
    return 3;
}

await app.RunAsync();
return 0;

/// <summary>Visible to the in-process tests' WebApplicationFactory.</summary>
public partial class Program;
