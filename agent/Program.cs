using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Hosting;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSystemd();

AgentOptions options;
try
{
    options = builder.Configuration.GetSection(AgentOptions.Section).Get<AgentOptions>() ?? new AgentOptions();
    _ = options.ParseAttributes();
    _ = options.ParseTags();
    _ = new Uri(options.DockerEndpoint);
    _ = new Uri(options.SchedulerAddress);
}
catch (Exception e) when (e is FormatException or InvalidOperationException or UriFormatException)
{
    Console.Error.WriteLine($"orchestrator-agent: bad setting: {e.Message}");
    return 1;
}

builder.Services.AddSingleton(options);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(new AgentIdentity(options.Cluster, options.EffectiveNodeName, options.HostIp));
builder.Services.AddSingleton<IContainerRuntime>(_ => new DockerRuntime(options.DockerEndpoint));
builder.Services.AddSingleton<ReportQueue>();
builder.Services.AddSingleton<IReportSink>(sp => sp.GetRequiredService<ReportQueue>());
builder.Services.AddSingleton<TaskSupervisor>();
builder.Services.AddSingleton<AgentStartup>();
builder.Services.AddHostedService<RuntimeEventPump>();
builder.Services.AddHostedService<SchedulerConnection>();
builder.Services.AddHostedService<ContainerJanitor>();

using var host = builder.Build();
host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("orchestrator-agent")
    .LogInformation("Agent {Node} of cluster {Cluster}: scheduler {Scheduler}, Docker {Docker}", options.EffectiveNodeName, options.Cluster, options.SchedulerAddress, options.DockerEndpoint);
await host.RunAsync();
return 0;
