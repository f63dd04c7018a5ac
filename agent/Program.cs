using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Hosting;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Security;
using Orchestrator.Agent.Sessions;
using Orchestrator.Agent.Tasks;
using Orchestrator.Agent.Telemetry;
using Orchestrator.Scheduler.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSystemd();

// A stop only closes the scheduler stream and the runtime's connections (containers are left running), so
// it takes well under a second; this bounds a part that does not end, below the unit's TimeoutStopSec.
builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));

AgentOptions options;
WorkloadSettings workload;
NodeCredentialStore store;
AgentSecurity security;
System.Net.IPEndPoint? metricsEndpoint;
try
{
    options = builder.Configuration.GetSection(AgentOptions.Section).Get<AgentOptions>() ?? new AgentOptions();
    _ = options.ParseAttributes();
    _ = options.ParseTags();
    _ = options.ParseAdvertiseAddress();
    workload = WorkloadSettings.From(options);
    RuntimeRegistration.Validate(options);
    metricsEndpoint = string.IsNullOrWhiteSpace(options.MetricsListen) ? null
        : ListenAddress.Parse(options.MetricsListen, $"{AgentOptions.Section}:{nameof(AgentOptions.MetricsListen)}", "127.0.0.1:9401");
    store = new NodeCredentialStore(options.StateDirectory);

    // A missing join token stops the agent here rather than retrying: it is a setting only the operator
    // can fix, and exit code 1 makes systemd give up after a few restarts, with this line in the journal.
    security = AgentSecurity.FromSettings(options, store);
}
catch (Exception e) when (e is FormatException or InvalidOperationException or UriFormatException)
{
    Console.Error.WriteLine($"orchestrator-agent: bad setting: {e.Message}");
    return 1;
}
catch (CredentialStoreException e)
{
    Console.Error.WriteLine($"orchestrator-agent: {e.Message}");
    return 2;
}

builder.Services.AddSingleton(options);
builder.Services.AddSingleton(security);
builder.Services.AddSingleton(store);
builder.Services.AddSingleton(new NodeCredentialsHolder(security.MustJoin ? null : security.Stored));
builder.Services.AddSingleton<SchedulerChannel>();
builder.Services.AddSingleton(sp => sp.GetRequiredService<SchedulerChannel>().Client);
builder.Services.AddSingleton<NodeEnrollment>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(new AgentIdentity(options.Cluster, options.EffectiveNodeName, options.HostIp) { Workload = workload });
builder.Services.AddSingleton<AgentMeter>();

// Docker or containerd (Agent:Runtime), wrapped: health checks where the engine has none, every call timed.
builder.Services.AddContainerRuntime(options);
builder.Services.AddHostedService<AgentGauges>();
builder.Services.AddSingleton<ReportQueue>();
builder.Services.AddSingleton<IReportSink>(sp => sp.GetRequiredService<ReportQueue>());
builder.Services.AddSingleton<TaskSupervisor>();
builder.Services.AddSingleton<AgentStartup>();
builder.Services.AddSingleton(sp => new SchedulerLease(sp.GetRequiredService<TimeProvider>(), options.StateDirectory, SchedulerLease.ReadBootId()));
builder.Services.AddHostedService<RuntimeEventPump>();
// Task sessions (logs, exec): each on a connection of its own, never Connect's.
builder.Services.AddSingleton<ISessionChannel, SessionChannel>();
builder.Services.AddSingleton<SessionRunner>();
builder.Services.AddHostedService<SchedulerConnection>();
builder.Services.AddHostedService<ContainerJanitor>();
builder.Services.AddHostedService<DisconnectFence>();
if (security.Enabled)
{
    builder.Services.AddHostedService<CertificateRenewer>();
}

if (metricsEndpoint is not null && PortProbe.WhyNotBindable(metricsEndpoint) is { } metricsProblem)
{
    Console.Error.WriteLine($"orchestrator-agent: cannot listen on {metricsEndpoint} (Agent:MetricsListen): {metricsProblem}");
    return 3;
}

using var host = builder.Build();
using var metrics = metricsEndpoint is null ? null : new PrometheusExport(host.Services.GetRequiredService<AgentMeter>().Meter, metricsEndpoint);
var startLog = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("orchestrator-agent");
WorkloadDirectories.Prepare(options, workload, startLog);
startLog.LogInformation(
        "Agent {Node} of cluster {Cluster}: scheduler {Scheduler} ({Transport}), runtime {Runtime}",
        options.EffectiveNodeName,
        options.Cluster,
        options.SchedulerAddress,
        !security.Enabled ? "cleartext" : security.MustJoin ? "TLS, joining" : $"TLS, node certificate until {security.Stored!.NotAfter:u}",
        RuntimeRegistration.Describe(options));
await host.RunAsync();
return 0;
