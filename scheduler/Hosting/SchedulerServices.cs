using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orchestrator.Scheduler.Agents;
using Orchestrator.Scheduler.Agents.Sessions;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Api.TaskIo;
using Orchestrator.Scheduler.Api;
using Orchestrator.Scheduler.Api.Framing;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Telemetry;
using Prometheus;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>Wires the scheduler's parts together; Program and the tests share it.</summary>
internal static class SchedulerServices
{
    /// <summary>How long a graceful stop waits for open requests before it aborts their connections.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SchedulerOptions>().Bind(configuration.GetSection(SchedulerOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SchedulerOptions>, SchedulerOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<SchedulerOptions>>().Value);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SchedulerStopping>();
        services.AddHostedService(sp => sp.GetRequiredService<SchedulerStopping>());

        // The streams end as soon as the stop begins (SchedulerStopping), so what Kestrel still waits for
        // is unary calls finishing and last writes to peers; this bounds a peer that reads nothing (frozen,
        // its window full). Kept well under the unit's TimeoutStopSec, so that systemd never has to
        // SIGKILL a scheduler that is still closing its store.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = ShutdownTimeout);
        services.AddSingleton(sp => DataDirectoryLock.Acquire(sp.GetRequiredService<SchedulerOptions>().DataPath));
        if (string.Equals(configuration[$"{SchedulerOptions.Section}:{nameof(SchedulerOptions.Store)}"], StoreKinds.Etcd, StringComparison.OrdinalIgnoreCase))
        {
            services.AddEtcdHighAvailability();
        }
        else
        {
            services.AddLiteDbStore();
            services.AddLeadership();
        }

        services.AddSingleton<TaskEventHub>();
        services.AddSingleton<SchedulerMeter>();
        services.AddSingleton(sp => new PrometheusExport(sp.GetRequiredService<SchedulerMeter>().Meter));

        // The gauges read the state, so they are added as the host starts, after Program has opened it.
        services.AddHostedService<SchedulerGauges>();
        services.AddSingleton<ClusterState>();

        // The key that seals secret values, in the data directory (made there on the first start), which
        // only the directory lock's holder touches.
        // With several schedulers, both come from etcd first (SharedSecurityReady, registered only then).
        services.AddSingleton(sp =>
        {
            _ = sp.GetRequiredService<DataDirectoryLock>();
            _ = sp.GetService<SharedSecurityReady>();
            return SecretCipher.LoadOrCreate(sp.GetRequiredService<SchedulerOptions>().DataDirectory);
        });
        services.AddChangeFeed();
        services.AddSingleton(sp =>
        {
            _ = sp.GetService<SharedSecurityReady>();
            return ActivatorUtilities.CreateInstance<ClusterSecurity>(sp);
        });

        // The channels a standby forwards the public API to the leader on.
        services.AddSingleton(sp => LeaderChannel.ForCluster(sp.GetRequiredService<SchedulerOptions>(), sp.GetRequiredService<ClusterSecurity>()));
        services.AddSingleton<ApiTokens>();
        services.AddSingleton<JoinTokens>();
        services.AddSingleton<NodeCertificates>();
        services.AddSingleton<AgentAuthenticator>();

        // Task logs and exec: the client's call and the agent's Session call meet in the broker.
        services.AddSingleton<SessionBroker>();
        services.AddSingleton<TaskLogsApi>();
        services.AddSingleton<TaskExecApi>();

        // First: the tokens and certificates exist before any other part starts or any call is served.
        services.AddSingleton<SecurityBootstrap>();
        services.AddHostedService(sp => sp.GetRequiredService<SecurityBootstrap>());
        services.AddSingleton<RunTaskBatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<RunTaskBatcher>());
        services.AddSingleton<ReportCommitter>();
        services.AddHostedService(sp => sp.GetRequiredService<ReportCommitter>());
        services.AddHostedService<HistoryPruner>();
        services.AddHostedService<HeartbeatMonitor>();
        services.AddSingleton<SchedulerExit>();
        services.AddSingleton<StoreLossStop>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreLossStop>());
        services.AddHostedService<ServiceScheduler>();

        services.AddGrpc(options =>
        {
            // Authentication first: nothing of a call runs before its token is checked.
            options.Interceptors.Add<TokenAuthInterceptor>();

            // Then, on a standby: forward to the leader (or serve a stale read, or refuse); the leader passes on at once.
            options.Interceptors.Add<LeaderForwardingInterceptor>();
            options.Interceptors.Add<RequestErrorInterceptor>();
            options.MaxReceiveMessageSize = Limits.MaxRequestBytes;

            // gzip that answers a body that is not gzip, or inflates past the limit, with a clear status.
            options.CompressionProviders = [new CheckedGzipProvider(Limits.MaxRequestBytes)];
            options.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();
        // Check runs the checks at each call: a deposed leader, or a standby that knows no leader, answers NOT_SERVING at once.
        services.AddGrpcHealthChecks()
            .AddCheck("state", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy())
            .AddCheck<LeadershipHealthCheck>("leadership");

        // Last, after every AddGrpc* call has registered grpc-dotnet's binder: ours replaces it so that
        // a request that is not a valid message is answered INVALID_ARGUMENT (see the provider).
        services.RemoveAll(typeof(IServiceMethodProvider<>));
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(CheckedServiceMethodProvider<>));
    }

    public static void Map(WebApplication app)
    {
        // After routing (WebApplication adds it first), before the gRPC endpoints: checks the request frames.
        app.UseMiddleware<FrameCheckMiddleware>(Limits.MaxRequestBytes);
        app.MapGrpcService<ClusterApi>();
        app.MapGrpcService<TaskDefinitionApi>();
        app.MapGrpcService<NodeApi>();
        app.MapGrpcService<TaskApi>();
        app.MapGrpcService<ServiceApi>();
        app.MapGrpcService<TagApi>();
        app.MapGrpcService<TokenApi>();
        app.MapGrpcService<SecretApi>();
        app.MapGrpcService<TargetGroupApi>();
        app.MapGrpcService<EventApi>();
        app.MapGrpcService<AgentApi>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        MapMetrics(app);
    }

    /// <summary>
    /// <c>/metrics</c>, answered only on the metrics port (Program gives it an HTTP/1.1 endpoint of its
    /// own): the gRPC port, which may face the network, does not serve it.
    /// </summary>
    private static void MapMetrics(WebApplication app)
    {
        // From the configuration, not the options: resolving those here would check every setting before
        // Program can report a bad one with its one line.
        var listen = app.Configuration[MetricsSetting] ?? new SchedulerOptions().MetricsListen;
        if (string.IsNullOrWhiteSpace(listen))
        {
            return;
        }

        var port = ListenAddress.Parse(listen, MetricsSetting, "127.0.0.1:9400").Port;
        var export = app.Services.GetRequiredService<PrometheusExport>();
        app.MapMetrics("/metrics", export.Registry).RequireHost($"*:{port}");
    }

    public const string MetricsSetting = $"{SchedulerOptions.Section}:{nameof(SchedulerOptions.MetricsListen)}";
}
