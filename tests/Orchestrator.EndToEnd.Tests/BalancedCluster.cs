using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// A <see cref="Cluster"/> (scheduler and one agent on this host's Docker, host ports on 127.0.0.1) with
/// a real orchestrator-balancer process driving a real HAProxy (master-worker, its sockets, configuration
/// and state file in a temporary directory), the target groups' ports on 127.0.0.1. The balancer signs in
/// with a token of role balancer made through the API, as an operator would.
/// </summary>
internal sealed class BalancedCluster : IAsyncDisposable
{
    public const string BalancerName = "e2e-lb";
    private readonly string[] _balancerSettings;

    private BalancedCluster(Cluster cluster, HaproxyProcess haproxy, string[] balancerSettings)
    {
        Cluster = cluster;
        Haproxy = haproxy;
        _balancerSettings = balancerSettings;
    }

    public Cluster Cluster { get; }

    public HaproxyProcess Haproxy { get; }

    public DaemonProcess? Balancer { get; private set; }

    public TargetGroupService.TargetGroupServiceClient TargetGroups => new(Cluster.Channel);

    public ServiceService.ServiceServiceClient Services => Cluster.Services;

    public static async Task<BalancedCluster> StartAsync()
    {
        // Host ports of its own, below the kernel's ephemeral range: other clusters on this host (other
        // tests, benchmarks) hand out 49153 and up on 127.0.0.1 too, and a port taken fails a task's start.
        var first = 20_000 + (Random.Shared.Next(0, 50) * 200);
        var cluster = await Cluster.StartAsync(1, $"--Scheduler:DynamicPortRange={first}-{first + 199}");
        HaproxyProcess? haproxy = null;
        try
        {
            var token = await new TokenService.TokenServiceClient(cluster.Channel).CreateTokenAsync(new CreateTokenRequest { Name = "e2e-balancer", Role = "balancer" });
            var tokenFile = Path.Combine(cluster.DataDirectory, "balancer.token");
            await File.WriteAllTextAsync(tokenFile, token.Secret);
            haproxy = new HaproxyProcess();
            await haproxy.StartAsync();
            string[] settings =
            [
                $"--Balancer:Name={BalancerName}",
                $"--Balancer:Schedulers=https://127.0.0.1:{cluster.Port}",
                $"--Balancer:CaCertificate={Path.Combine(cluster.DataDirectory, SchedulerChannel.CaFile)}",
                $"--Balancer:TokenFile={tokenFile}",
                $"--Balancer:Haproxy:ConfigPath={haproxy.ConfigPath}",
                $"--Balancer:Haproxy:AdminSocket={haproxy.AdminSocket}",
                $"--Balancer:Haproxy:MasterSocket={haproxy.MasterSocket}",
                $"--Balancer:Haproxy:StateFile={haproxy.StateFile}",
                "--Balancer:Haproxy:BindAddress=127.0.0.1",
            ];
            var balanced = new BalancedCluster(cluster, haproxy, settings);
            balanced.StartBalancer();
            return balanced;
        }
        catch
        {
            haproxy?.Dispose();
            await cluster.DisposeAsync();
            throw;
        }
    }

    public void StartBalancer()
    {
        Balancer?.Dispose();
        Balancer = DaemonProcess.StartBalancer(_balancerSettings);
    }

    /// <summary>The balancer killed (SIGKILL, as a crash) and started again.</summary>
    public void RestartBalancer()
    {
        Balancer?.KillHard();
        StartBalancer();
    }

    /// <summary>What the balancer and HAProxy last said, for a failure's message.</summary>
    public string Explain() =>
        "balancer:\n" + string.Join("\n", (Balancer?.StandardOutput ?? []).TakeLast(15)) + "\n" + string.Join("\n", (Balancer?.StandardError ?? []).TakeLast(5))
        + "\nhaproxy: " + (File.Exists(Haproxy.LogPath) ? File.ReadAllText(Haproxy.LogPath) : "");

    /// <summary>A target group on a free loopback port, checked over HTTP every 2 s (timeout 1 s), rise 1, fall 2.</summary>
    public async Task<TargetGroup> CreateTargetGroupAsync(string name, int deregistrationDelaySeconds) =>
        (await TargetGroups.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = name,
            Protocol = "HTTP",
            Port = HaproxyProcess.FreePort(),
            HealthCheck = new TargetGroupHealthCheck { Path = "/", Matcher = "200", IntervalSeconds = 2, TimeoutSeconds = 1, HealthyThreshold = 1, UnhealthyThreshold = 2 },
            DeregistrationDelaySeconds = deregistrationDelaySeconds,
        })).TargetGroup;

    public async Task<List<TargetHealthDescription>> TargetsAsync(string group) =>
        [.. (await TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = group })).Targets];

    /// <summary>Waits until the group's targets are exactly these tasks, every one HEALTHY.</summary>
    public async Task WaitForHealthyTargetsAsync(string group, IEnumerable<string> taskIds, int seconds = 60)
    {
        var expected = taskIds.Order(StringComparer.Ordinal).ToList();
        List<TargetHealthDescription> targets = [];
        await Cluster.EventuallyAsync(
            async () =>
            {
                targets = await TargetsAsync(group);
                return targets.All(t => t.Health.State == "HEALTHY") && targets.Select(t => t.Target.Id).Order(StringComparer.Ordinal).SequenceEqual(expected);
            },
            $"the targets of {group} are {string.Join(", ", expected)}, all HEALTHY",
            () => $"targets: {string.Join("; ", targets.Select(t => $"{t.Target.Id} {t.Health.State} {t.Health.Description}"))}\n{Explain()}",
            seconds);
    }

    /// <summary>Waits until the service runs this many tasks and the group has them, all HEALTHY, as its only targets.</summary>
    public async Task<List<Contracts.V1.Task>> WaitForServiceAsync(string service, string group, int count, int seconds = 60)
    {
        List<Contracts.V1.Task> running = [];
        await Cluster.EventuallyAsync(async () => (running = await Cluster.RunningTasksOfAsync(service)).Count == count,
            $"{count} tasks of {service} run", () => $"{running.Count} run", seconds);
        await WaitForHealthyTargetsAsync(group, running.Select(t => t.TaskId), seconds);
        return running;
    }

    /// <summary>A GET through HAProxy on a new connection: the status and the trimmed body (null where no answer came).</summary>
    public static async Task<(int Status, string Body)?> GetAsync(int port, string path = "/", int timeoutSeconds = 5)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(timeoutSeconds) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}{path}");
        request.Headers.ConnectionClose = true;
        try
        {
            using var response = await http.SendAsync(request);
            return ((int)response.StatusCode, (await response.Content.ReadAsStringAsync()).Trim());
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The backend (container hostname) each task answers with.</summary>
    public static string BackendOf(Contracts.V1.Task task) => RollingTarget.BackendOf(task.Containers.Single().RuntimeId);

    /// <summary>
    /// HAProxy's server slots in use (not in maintenance) of the group's backend, as `show servers state`
    /// gives them: "address:port" each.
    /// </summary>
    public async Task<List<string>> ServersInUseAsync(string group)
    {
        var answer = await Haproxy.CommandAsync("show servers state");
        var used = new List<string>();
        foreach (var line in answer.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (line.StartsWith('#') || f.Length < 19 || f[1] != "be_" + group || !int.TryParse(f[6], out var admin))
            {
                continue;
            }

            if ((admin & (0x01 | 0x02 | 0x20 | 0x40)) == 0)
            {
                used.Add($"{f[4]}:{f[18]}");
            }
        }

        return used;
    }

    public async Task CreateServiceAsync(string name, string taskDefinition, int desiredCount, string group, DeploymentConfiguration? deployment = null)
    {
        var request = new CreateServiceRequest
        {
            ServiceName = name,
            TaskDefinition = taskDefinition,
            DesiredCount = desiredCount,
            LoadBalancers = { new LoadBalancer { TargetGroup = group, ContainerName = "web", ContainerPort = RollingTarget.ContainerPort } },
        };
        if (deployment is not null)
        {
            request.DeploymentConfiguration = deployment;
        }

        await Services.CreateServiceAsync(request);
    }

    /// <summary>
    /// Removes what a test made: the service (forced) once its tasks stopped and their containers are
    /// gone, then the target group (so the balancer drops its frontend). Missing ones are passed by.
    /// </summary>
    public async Task CleanUpAsync(string service, string group)
    {
        try
        {
            await Services.DeleteServiceAsync(new DeleteServiceRequest { Service = service, Force = true });
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
            // Never made.
        }

        await Cluster.EventuallyAsync(
            async () =>
            {
                var ids = (await Cluster.Tasks.ListTasksAsync(new ListTasksRequest { Service = service, MaxResults = 1000 })).TaskIds;
                var tasks = await Cluster.DescribeAllAsync(ids);
                return tasks.All(t => t.LastStatus == TaskStatus.Stopped) && Cluster.RunningContainersByTask(service).Count == 0;
            },
            $"the tasks of {service} stopped and their containers are gone", seconds: 90);
        await Cluster.EventuallyAsync(
            async () =>
            {
                try
                {
                    await TargetGroups.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { Name = group });
                    return true;
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.NotFound)
                {
                    return true;
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition)
                {
                    return false; // the service is still being deleted
                }
            },
            $"target group {group} is deleted", seconds: 60);
    }

    public async ValueTask DisposeAsync()
    {
        Balancer?.Dispose();
        Haproxy.Dispose();
        await Cluster.DisposeAsync();
    }
}
