using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Our half of lb-rolling, measured as <see cref="SwarmRollingBaseline"/> measures Swarm's:
/// 1. a real scheduler (<see cref="BenchScheduler"/>, TLS), three real agent processes on the local Docker
///    publishing on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (as the Compose cluster's agents do), and a real
///    orchestrator-balancer with its own HAProxy on loopback (<see cref="HaproxyProcess"/>: config, sockets
///    and state in a temporary directory, never the system service), the balancer with a token of role
///    balancer made by TokenService.CreateToken and written to a file;
/// 2. a target group (HTTP, on a free loopback port, an HTTP check every 2 s with a 1 s timeout (the
///    fastest the API takes: as ELB, the timeout must be shorter than the interval), healthy after 2 passed checks,
///    deregistration delay <see cref="DeregistrationDelaySeconds"/>) and a service of the scenario's replicas
///    of orchestrator-test/busybox running <see cref="RollingTarget.Command"/> (no container health check:
///    our container checks run every 5 s at the fastest; the target group's check gates the tasks, as
///    ELB's does for ECS) spread over the three nodes, with the group in load_balancers;
/// 3. once the group has its targets HEALTHY and the listener answers: the steady client, the scenario's
///    wait, UpdateService force_new_deployment, converged (one deployment, COMPLETED, Replicas new tasks
///    RUNNING, every old task STOPPED), the scenario's wait after;
/// 4. for each new task its container's start (the engine's State.StartedAt) and its RUNNING (the task's
///    started_at: with no container health check, RUNNING is RUNNING and healthy), polled every 100 ms,
///    then <see cref="RollingFigures.Of"/>; besides, when DescribeTargetHealth first showed it HEALTHY
///    (the balancer's verdict as the scheduler has it), against its first answer, in the outcome's note;
/// 5. everything stopped and removed in a finally; every wait bounded by the scenario's StepLimit.
/// </summary>
internal static class LbRollingOrchestrator
{
    private const string Image = "orchestrator-test/busybox:latest";
    private const int DeregistrationDelaySeconds = 5;

    public static async Task<RollingOutcome?> RunAsync(RollingScenario scenario)
    {
        if (!File.Exists(HaproxyProcess.Binary) && HaproxyProcess.Binary.StartsWith('/'))
        {
            throw new InvalidOperationException("haproxy is not installed (/usr/sbin/haproxy; apt-get install haproxy)");
        }

        var directory = Directory.CreateTempSubdirectory("orchestrator-lbroll-").FullName;
        var suffix = Guid.NewGuid().ToString("N")[..6];
        string[] nodes = [$"lbroll-{suffix}-a", $"lbroll-{suffix}-b", $"lbroll-{suffix}-c"];
        using var docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
        var agents = new List<DaemonProcess>();
        DaemonProcess? balancer = null;
        using var haproxy = new HaproxyProcess();
        try
        {
            using var scheduler = new BenchScheduler(directory, secure: true);
            await scheduler.ServingAsync();
            var channel = scheduler.Channel;
            for (var i = 0; i < nodes.Length; i++)
            {
                agents.Add(DaemonProcess.Start("orchestrator-agent.dll",
                [
                    .. scheduler.AgentArguments(nodes[i], Path.Combine(directory, "agent-" + i)), $"--Agent:HostIp=127.0.0.{i + 1}",
                    "--Logging:LogLevel:Default=Warning",
                ]));
            }

            var nodeClient = new NodeService.NodeServiceClient(channel);
            await Polling.UntilAsync(async () => (await nodeClient.ListNodesAsync(new ListNodesRequest())).Nodes.Count(n => n.AgentConnected) == nodes.Length,
                $"{nodes.Length} agents connect", scenario.StepLimit, () => string.Join("\n", agents.SelectMany(a => a.StandardOutput.TakeLast(5))));

            // The balancer: its own token (role balancer), the cluster CA, and its HAProxy on loopback.
            var token = await new TokenService.TokenServiceClient(channel).CreateTokenAsync(new CreateTokenRequest { Name = "lbroll-balancer", Role = "balancer" });
            var tokenFile = Path.Combine(directory, "balancer.token");
            await File.WriteAllTextAsync(tokenFile, token.Secret);
            await haproxy.StartAsync();
            balancer = DaemonProcess.Start("orchestrator-balancer.dll",
            [
                "--Balancer:Name=lbroll", $"--Balancer:Schedulers={scheduler.Address}",
                $"--Balancer:CaCertificate={Path.Combine(directory, SchedulerChannel.CaFile)}", $"--Balancer:TokenFile={tokenFile}",
                $"--Balancer:Haproxy:ConfigPath={haproxy.ConfigPath}", $"--Balancer:Haproxy:AdminSocket={haproxy.AdminSocket}",
                $"--Balancer:Haproxy:MasterSocket={haproxy.MasterSocket}", $"--Balancer:Haproxy:StateFile={haproxy.StateFile}",
                "--Balancer:Haproxy:BindAddress=127.0.0.1", "--Logging:LogLevel:Default=Warning",
            ]);

            var port = HaproxyProcess.FreePort();
            var groups = new TargetGroupService.TargetGroupServiceClient(channel);
            await groups.CreateTargetGroupAsync(new CreateTargetGroupRequest
            {
                Name = "lbroll",
                Protocol = "HTTP",
                Port = port,
                HealthCheck = new TargetGroupHealthCheck { Path = "/", IntervalSeconds = 2, TimeoutSeconds = 1, HealthyThreshold = 2, UnhealthyThreshold = 2 },
                DeregistrationDelaySeconds = DeregistrationDelaySeconds,
            });
            await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "lbroll",
                ContainerDefinitions =
                {
                    new ContainerDefinition
                    {
                        Name = "web", Image = Image, Command = { RollingTarget.Command }, Memory = 32, StopTimeoutSeconds = 10,
                        PortMappings = { new PortMapping { ContainerPort = RollingTarget.ContainerPort } },
                    },
                },
            });
            var services = new ServiceService.ServiceServiceClient(channel);
            await services.CreateServiceAsync(new CreateServiceRequest
            {
                ServiceName = "lbroll",
                TaskDefinition = "lbroll",
                DesiredCount = scenario.Replicas,
                PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } },
                LoadBalancers = { new LoadBalancer { TargetGroup = "lbroll", ContainerName = "web", ContainerPort = RollingTarget.ContainerPort } },
            });

            var tasks = new TaskService.TaskServiceClient(channel);
            var url = $"http://127.0.0.1:{port}/";
            string Explain() => $"balancer: {string.Join("\n", balancer.StandardOutput.TakeLast(10))}\nhaproxy config: {(File.Exists(haproxy.ConfigPath) ? File.ReadAllText(haproxy.ConfigPath) : "none")}";
            await Polling.UntilAsync(async () => (await groups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "lbroll" })).Targets
                .Count(t => t.Health.State == "HEALTHY") == scenario.Replicas, $"{scenario.Replicas} targets are HEALTHY", scenario.StepLimit, Explain);
            var before = await ServiceTasksAsync(tasks);
            var beforeIds = before.Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal);
            await AnswersAsync(url, before.Select(Backend).ToHashSet(StringComparer.Ordinal), scenario.StepLimit, Explain);

            await using var client = SteadyHttpClient.Start(scenario.Client(url));
            var clientStartUtc = DateTime.UtcNow - client.Elapsed;
            var watch = new NewTaskWatch(docker, tasks, groups, beforeIds);
            using var watching = new CancellationTokenSource();
            var watcher = watch.RunAsync(watching.Token);
            DateTime updateStartUtc, updateEndUtc;
            try
            {
                await Task.Delay(scenario.Before);
                updateStartUtc = DateTime.UtcNow;
                await services.UpdateServiceAsync(new UpdateServiceRequest { Service = "lbroll", ForceNewDeployment = true });
                await Polling.UntilAsync(async () =>
                {
                    var service = (await services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "lbroll" } })).Services.Single();
                    var all = await ServiceTasksAsync(tasks, includeStopped: true);
                    return service.Deployments.Count == 1 && service.Deployments[0].RolloutState == "COMPLETED"
                        && all.Count(t => !beforeIds.Contains(t.TaskId) && t.LastStatus == TaskStatus.Running && t.DesiredStatus == TaskStatus.Running) == scenario.Replicas
                        && all.Where(t => beforeIds.Contains(t.TaskId)).All(t => t.LastStatus == TaskStatus.Stopped)
                        && all.Count(t => beforeIds.Contains(t.TaskId)) == beforeIds.Count;
                }, "the deployment converges (new tasks RUNNING, old ones STOPPED)", scenario.StepLimit, Explain);
                updateEndUtc = DateTime.UtcNow;
                await Task.Delay(scenario.After);
            }
            finally
            {
                await watching.CancelAsync();
                await watcher;
            }

            var results = await client.StopAsync();
            var figures = RollingFigures.Of(results, clientStartUtc, updateStartUtc, updateEndUtc, watch.Backends);
            figures.Describe("ours", results);

            // The balancer's HEALTHY as the scheduler shows it (DescribeTargetHealth, polled every 100 ms)
            // against the first answer: HAProxy routes to a target as soon as its own checks pass; the
            // report reaches the scheduler after that, so this is negative where the API lags HAProxy.
            var firstAnswer = results.Where(r => r.Ok && r.Body is not null).GroupBy(r => r.Body!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => clientStartUtc + g.Min(r => r.SentAt + r.Latency), StringComparer.Ordinal);
            var healthyToFirst = watch.Healthy.Where(h => h.Healthy is not null && firstAnswer.ContainsKey(h.Backend))
                .Select(h => firstAnswer[h.Backend] - h.Healthy!.Value).ToList();
            var neverHealthy = watch.Healthy.Count(h => h.Healthy is null);
            var note = $"ready = the task's RUNNING (no container health check: the target group's check gates it); DescribeTargetHealth HEALTHY (polled every 100 ms) → first answer: {RollingFigures.Spread(healthyToFirst)}{(neverHealthy == 0 ? "" : $", {neverHealthy} never seen HEALTHY")}";
            return new RollingOutcome(
                $"{scenario.Replicas} replicas on 3 agents, orchestrator-balancer + HAProxy 2.6, force_new_deployment, minimumHealthyPercent 100, maximumPercent 200, target group HTTP check every 2 s, timeout 1 s (2 passed to be healthy), deregistration delay {DeregistrationDelaySeconds} s",
                figures, updateEndUtc - updateStartUtc, note);
        }
        finally
        {
            balancer?.Dispose();
            foreach (var agent in agents)
            {
                agent.Dispose();
            }

            haproxy.Stop();
            foreach (var node in nodes)
            {
                await RemoveContainersAsync(docker, node);
            }

            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the system's temporary files cleanup.
            }
        }
    }

    private static string Backend(Contracts.V1.Task task) => RollingTarget.BackendOf(task.Containers.FirstOrDefault()?.RuntimeId ?? "");

    private static async Task<List<Contracts.V1.Task>> ServiceTasksAsync(TaskService.TaskServiceClient tasks, bool includeStopped = false)
    {
        var ids = await tasks.ListTasksAsync(new ListTasksRequest { Service = "lbroll", MaxResults = 100, IncludeAllStatuses = includeStopped });
        if (ids.TaskIds.Count == 0)
        {
            return [];
        }

        var described = await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids.TaskIds } });
        return [.. described.Tasks.Where(t => includeStopped || t.LastStatus == TaskStatus.Running)];
    }

    /// <summary>Waits until a GET through the balancer answers 200 with the name of one of the service's containers.</summary>
    private static async Task AnswersAsync(string url, HashSet<string> backends, TimeSpan limit, Func<string> explain)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var last = "no attempt";
        await Polling.UntilAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync(url);
                var body = (await response.Content.ReadAsStringAsync()).Trim();
                last = $"{(int)response.StatusCode} {body}";
                return response.StatusCode == HttpStatusCode.OK && backends.Contains(body);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = SteadyHttpClient.Cause(e, e is TaskCanceledException);
                return false;
            }
        }, $"{url} answers from one of the service's containers", limit, () => $"last: {last}; {explain()}", intervalMilliseconds: 200);
    }

    private static async Task RemoveContainersAsync(DockerClient docker, string node)
    {
        try
        {
            foreach (var container in await docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"orchestrator.node={node}"] = true } },
            }))
            {
                await docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            }
        }
        catch (DockerApiException e)
        {
            Console.Error.WriteLine($"lb-rolling: removing {node}'s containers: {e.Message}");
        }
    }

    /// <summary>Every 100 ms: the service's new tasks, when each was first RUNNING and first HEALTHY in the balancer's report, and its container's start.</summary>
    private sealed class NewTaskWatch(DockerClient docker, TaskService.TaskServiceClient tasks, TargetGroupService.TargetGroupServiceClient groups, HashSet<string> before)
    {
        private readonly Dictionary<string, (string Backend, DateTime Started, DateTime Running)> _running = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DateTime> _healthy = new(StringComparer.Ordinal);

        /// <summary>Each new backend with its container's start and its task's RUNNING (the scheduler's started_at).</summary>
        public IEnumerable<BackendTimes> Backends => _running.Select(p => new BackendTimes(p.Value.Backend, p.Value.Started, p.Value.Running));

        /// <summary>Each new backend with when DescribeTargetHealth first showed it HEALTHY (null: never seen so).</summary>
        public IEnumerable<(string Backend, DateTime? Healthy)> Healthy =>
            _running.Select(p => (p.Value.Backend, _healthy.TryGetValue(p.Key, out var healthy) ? healthy : (DateTime?)null));

        public async Task RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var health = await groups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "lbroll" }, cancellationToken: stop);
                    var seenAt = DateTime.UtcNow;
                    foreach (var target in health.Targets.Where(t => t.Health.State == "HEALTHY" && !before.Contains(t.Target.Id)))
                    {
                        _healthy.TryAdd(target.Target.Id, seenAt);
                    }

                    foreach (var task in await ServiceTasksAsync(tasks))
                    {
                        var id = task.Containers.FirstOrDefault()?.RuntimeId ?? "";
                        if (before.Contains(task.TaskId) || _running.ContainsKey(task.TaskId) || id.Length == 0)
                        {
                            continue;
                        }

                        var inspected = await docker.Containers.InspectContainerAsync(id, stop);
                        var started = DateTime.Parse(inspected.State.StartedAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
                        var running = task.StartedAt?.ToDateTime() ?? DateTime.UtcNow;
                        _running[task.TaskId] = (RollingTarget.BackendOf(id), started, running);
                        Console.Error.WriteLine($"lb-rolling: ours: new task {task.TaskId} on {task.Node} container {id[..12]} started {started:HH:mm:ss.fff}, RUNNING {running:HH:mm:ss.fff}");
                    }

                    await Task.Delay(100, stop);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Grpc.Core.RpcException e) when (stop.IsCancellationRequested || e.StatusCode == Grpc.Core.StatusCode.Cancelled)
                {
                    return;
                }
            }
        }
    }
}
