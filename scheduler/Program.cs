using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

var builder = WebApplication.CreateBuilder(args);

// ASP.NET Core logs four lines at Information for every request (every API call, every scrape): that
// drowns the scheduler's own lines and costs throughput. Warning by default, as the ASP.NET templates'
// appsettings.json has it; a lowest-precedence default, so Logging:LogLevel:Microsoft.AspNetCore in the
// settings, the environment or the command line still turns it back on.
builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
{
    InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
});
builder.Host.UseSystemd();
SchedulerServices.Add(builder.Services, builder.Configuration);
EtcdThreadPool.Widen(builder.Configuration);

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

// Prometheus's scrape endpoint: a port of its own, off when the setting is empty.
var metricsListen = builder.Configuration[SchedulerServices.MetricsSetting] ?? new SchedulerOptions().MetricsListen;
System.Net.IPEndPoint? metricsEndpoint = null;
try
{
    metricsEndpoint = string.IsNullOrWhiteSpace(metricsListen) ? null : ListenAddress.Parse(metricsListen, SchedulerServices.MetricsSetting, "127.0.0.1:9400");
}
catch (FormatException e)
{
    Console.Error.WriteLine($"orchestrator-scheduler: bad setting: {e.Message}");
    return 1;
}

var insecure = builder.Configuration.GetValue<bool>($"{SchedulerOptions.Section}:{nameof(SchedulerOptions.Insecure)}");
if (insecure && !System.Net.IPAddress.IsLoopback(endpoint.Address))
{
    Console.Error.WriteLine($"orchestrator-scheduler: bad setting: Scheduler:Insecure (cleartext, agents identified by name) is only allowed on a loopback address, not {endpoint}");
    return 1;
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(endpoint, options =>
    {
        // gRPC is HTTP/2 only: over cleartext (h2c) clients cannot negotiate anything else, over TLS ALPN picks h2.
        options.Protocols = HttpProtocols.Http2;
        if (!insecure)
        {
            // Resolved at the first handshake, not here: this runs while the app is being built, before
            // the settings have been checked.
            var services = options.ApplicationServices;
            options.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.TlsHandshakeCallbackOptions
            {
                OnConnection = _ => ValueTask.FromResult(services.GetRequiredService<ClusterSecurity>().ServerAuthentication),
            });
        }
    });
    if (metricsEndpoint is not null)
    {
        // Prometheus scrapes over plain HTTP/1.1, which the gRPC endpoint (HTTP/2 only) cannot serve.
        kestrel.Listen(metricsEndpoint, options => options.Protocols = HttpProtocols.Http1);
    }

    // HTTP/2 pings find connections whose peer is gone or frozen even when no heartbeat is due.
    kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
    kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
});

var app = builder.Build();
SchedulerServices.Map(app);

try
{
    // Lock the data directory, then open the state and the CA, before taking traffic: a directory another
    // scheduler holds, a bad database or CA stops the daemon here, with one line. The lock comes first so
    // that a second scheduler touches nothing of the first's.
    _ = app.Services.GetRequiredService<DataDirectoryLock>();
    _ = app.Services.GetRequiredService<ClusterState>();
    if (!insecure)
    {
        _ = app.Services.GetRequiredService<ClusterSecurity>().ServerCertificate;
    }
}
catch (StorageException e)
{
    Console.Error.WriteLine($"orchestrator-scheduler: {e.Message}");
    return 2;
}
catch (OptionsValidationException e)
{
    // A setting that cannot work (SchedulerOptionsValidator): each problem names its setting.
    Console.Error.WriteLine($"orchestrator-scheduler: bad setting: {string.Join("; ", e.Failures)}");
    return 1;
}
catch (InvalidOperationException e) when (e.InnerException is FormatException or OverflowException)
{
    // The configuration binder's own failure: a value that is not of its setting's type (a TimeSpan, a number).
    Console.Error.WriteLine($"orchestrator-scheduler: bad setting: {e.Message}");
    return 1;
}

if (PortProbe.WhyNotBindable(endpoint) is { } problem)
{
    Console.Error.WriteLine($"orchestrator-scheduler: cannot listen on {endpoint}: {problem}");
    return 3;
}

if (metricsEndpoint is not null && PortProbe.WhyNotBindable(metricsEndpoint) is { } metricsProblem)
{
    Console.Error.WriteLine($"orchestrator-scheduler: cannot listen on {metricsEndpoint} ({SchedulerServices.MetricsSetting}): {metricsProblem}");
    return 3;
}

// 0; 4 when the state could not be flushed to disk (StoreLossStop); 5 when this scheduler lost its
// leadership (HA/DeposedLeaderExit): systemd starts it again. Taken before the run, as the host disposes
// its services when it stops.
var exit = app.Services.GetRequiredService<SchedulerExit>();
await app.RunAsync();
return exit.Code;

/// <summary>Visible to the in-process tests' WebApplicationFactory.</summary>
public partial class Program;
