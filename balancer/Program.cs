using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Balancer.Apply;
using Orchestrator.Balancer.Connection;
using Orchestrator.Balancer.Haproxy;
using Orchestrator.Balancer.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSystemd();
builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));

BalancerOptions options;
SchedulerChannels channels;
try
{
    options = builder.Configuration.GetSection(BalancerOptions.Section).Get<BalancerOptions>() ?? new BalancerOptions();
    options.Validate();
    channels = new SchedulerChannels(SchedulerChannels.LoadCa(options.CaCertificate), options.ReadToken());
}
catch (FormatException e)
{
    Console.Error.WriteLine($"orchestrator-balancer: bad setting: {e.Message}");
    return 1;
}

var haproxy = options.Haproxy;
builder.Services.AddSingleton(options);
builder.Services.AddSingleton(channels);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<IHaproxyRuntime>(new HaproxyRuntime(haproxy.AdminSocket, haproxy.MasterSocket));
builder.Services.AddSingleton<IPortCheck, BindPortCheck>();
builder.Services.AddSingleton(new ApplierSettings(
    options.EffectiveName, haproxy.ConfigPath, haproxy.StateFile, haproxy.AdminSocket, haproxy.BindAddress, TimeSpan.FromSeconds(haproxy.ReloadTimeoutSeconds), haproxy.RunAs));
builder.Services.AddSingleton<BalancerApplier>();
builder.Services.AddHostedService<BalancerLoop>();

using var host = builder.Build();
host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("orchestrator-balancer").LogInformation(
    "Balancer {Name}: schedulers {Schedulers} ({Transport}), target groups {Groups}, HAProxy config {Config}, admin socket {Admin}, master socket {Master}",
    options.EffectiveName,
    options.Schedulers,
    options.Schedulers.Contains("http://", StringComparison.OrdinalIgnoreCase) ? "cleartext" : options.CaCertificate is null ? "TLS, system roots" : $"TLS, CA {options.CaCertificate}",
    options.ServedGroups.Count == 0 ? "all" : string.Join(",", options.ServedGroups),
    haproxy.ConfigPath,
    haproxy.AdminSocket,
    haproxy.MasterSocket);
await host.RunAsync();
return 0;
