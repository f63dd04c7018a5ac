using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The baseline half of lb-rolling: Docker Swarm on the same engine. A swarm (initialised on loopback only
/// if the engine is in none, and left at the end only if this made it), a service of the scenario's replicas
/// running <see cref="RollingTarget"/> with a 1 s health check, published with the routing mesh
/// (ingress) on a free port, Swarm's update defaults (parallelism 1, delay 0 s, stop-first); the steady
/// client through 127.0.0.1:PORT; <c>docker service update --force</c>; converged; the client on for a
/// few seconds more. Where the routing mesh does not answer (it needs IPVS in the kernel), it says why and
/// falls back to host-mode publishing, where one node can run one task per published port.
/// </summary>
internal static class SwarmRollingBaseline
{
    private const string Image = "orchestrator-test/busybox:latest";

    public static async Task<RollingOutcome?> RunAsync(RollingScenario scenario)
    {
        using var docker = DockerApi();
        var name = $"lbroll-{Guid.NewGuid():N}"[..15];
        var createdSwarm = false;
        var services = new List<string>();
        try
        {
            createdSwarm = await JoinOrInitAsync(docker);
            var port = FreePort();
            var replicas = scenario.Replicas;
            var note = "";
            services.Add(name);
            Create(name, replicas, port, "ingress");
            await WaitRunningAsync(docker, name, replicas, scenario.StepLimit);
            var url = $"http://127.0.0.1:{port}/";
            if (await AnswersAsync(docker, name, url, TimeSpan.FromSeconds(15)) is { } meshError)
            {
                var why = File.Exists("/proc/net/ip_vs")
                    ? "the kernel has IPVS"
                    : "the kernel has no IPVS (no /proc/net/ip_vs; dockerd logs \"Could not get ipvs family information from the kernel\"), which the routing mesh's load balancing needs, so Swarm installs no ingress rule for the port";
                Console.Error.WriteLine($"lb-rolling: Swarm's routing mesh does not answer on {url} with {replicas}/{replicas} tasks running: {meshError}; {why}. Falling back to host-mode publishing.");
                Remove(name);
                await WaitGoneAsync(docker, name, scenario.StepLimit);
                name += "h";
                services.Add(name);
                port = FreePort();
                url = $"http://127.0.0.1:{port}/";

                // Host mode binds the published port on the node itself: a second task on the same node
                // cannot ("no suitable node (host-mode port already in use on 1 node)"), so one replica.
                replicas = 1;
                Create(name, replicas, port, "host");
                await WaitRunningAsync(docker, name, replicas, scenario.StepLimit);
                if (await AnswersAsync(docker, name, url, TimeSpan.FromSeconds(15)) is { } hostError)
                {
                    throw new InvalidOperationException($"neither the routing mesh ({meshError}) nor host-mode publishing ({hostError}) answered on 127.0.0.1");
                }

                note = $"ROUTING MESH UNAVAILABLE HERE ({meshError}: {why}); measured with host-mode publishing instead, {replicas} replica (host mode cannot run a second task on the same port of one node), and no balancer: the port answers once httpd listens, before the health check passes, so its first answer can come before RUNNING";
            }

            var before = await RunningTasksAsync(docker, name);
            await using var client = SteadyHttpClient.Start(scenario.Client(url));
            var clientStartUtc = DateTime.UtcNow - client.Elapsed;
            var seen = new Dictionary<string, BackendTimes>(StringComparer.Ordinal);
            using var watching = new CancellationTokenSource();
            var watcher = WatchNewTasksAsync(docker, name, before, seen, watching.Token);
            DateTime updateStartUtc, updateEndUtc;
            try
            {
                await Task.Delay(scenario.Before);
                updateStartUtc = DateTime.UtcNow;
                var updated = DockerCli.Run("service", "update", "--detach", "--force", "--quiet", name);
                if (updated.ExitCode != 0)
                {
                    throw new InvalidOperationException($"docker service update failed: {updated.Output}");
                }

                await WaitConvergedAsync(docker, name, replicas, before, scenario.StepLimit);
                updateEndUtc = DateTime.UtcNow;
                await Task.Delay(scenario.After);
            }
            finally
            {
                await watching.CancelAsync();
                await watcher;
            }

            var results = await client.StopAsync();
            var figures = RollingFigures.Of(results, clientStartUtc, updateStartUtc, updateEndUtc, seen.Values);
            figures.Describe("Swarm", results);

            var mode = note.Length == 0 ? "routing mesh (ingress)" : "host-mode publishing";
            return new RollingOutcome($"{replicas} replica(s), {mode}, service update --force, parallelism 1, delay 0 s, stop-first, health check every 1 s, --init",
                figures, updateEndUtc - updateStartUtc, note);
        }
        finally
        {
            foreach (var service in services)
            {
                Remove(service);
            }

            foreach (var service in services)
            {
                try
                {
                    await WaitGoneAsync(docker, service, TimeSpan.FromSeconds(60));
                }
                catch (TimeoutException e)
                {
                    Console.Error.WriteLine($"lb-rolling: {e.Message}");
                }
            }

            if (createdSwarm)
            {
                DockerCli.Run("swarm", "leave", "--force");
            }
        }
    }

    /// <summary>True where this made the swarm (the engine was in none); an engine that is a swarm worker cannot create services.</summary>
    private static async Task<bool> JoinOrInitAsync(HttpClient docker)
    {
        using var info = JsonDocument.Parse(await docker.GetStringAsync("info"));
        var swarm = info.RootElement.GetProperty("Swarm");
        var state = swarm.GetProperty("LocalNodeState").GetString();
        if (state == "active")
        {
            if (!swarm.GetProperty("ControlAvailable").GetBoolean())
            {
                throw new InvalidOperationException("this engine is a swarm worker, not a manager: it cannot create services");
            }

            return false;
        }

        if (state != "inactive")
        {
            throw new InvalidOperationException($"this engine's swarm state is {state}");
        }

        var init = DockerCli.Run("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377");
        return init.ExitCode == 0 ? true : throw new InvalidOperationException($"docker swarm init failed: {init.Output}");
    }

    private static void Create(string name, int replicas, int port, string mode)
    {
        string[] arguments =
        [
            "service", "create", "--detach", "--quiet", "--no-resolve-image", "--name", name, "--replicas", replicas.ToString(CultureInfo.InvariantCulture),
            "--init", "--publish", $"published={port},target={RollingTarget.ContainerPort},mode={mode}",
            "--health-cmd", RollingTarget.HealthCommand, "--health-interval", "1s", "--health-timeout", "2s", "--health-retries", "3", "--health-start-period", "0s",
            "--update-parallelism", "1", "--update-delay", "0s", "--stop-grace-period", "10s",
            Image, .. RollingTarget.Command,
        ];
        var created = DockerCli.Run(arguments);
        if (created.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker service create failed: {created.Output}");
        }
    }

    private static void Remove(string name) => DockerCli.Run("service", "rm", name);

    /// <summary>Null once a GET answers 200 with the name of one of the service's containers; else the last failure.</summary>
    private static async Task<string?> AnswersAsync(HttpClient docker, string service, string url, TimeSpan limit)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var backends = (await RunningTasksAsync(docker, service)).Select(t => RollingTarget.BackendOf(t.ContainerId)).ToHashSet(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + limit;
        string last = "no attempt";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync(url);
                var body = (await response.Content.ReadAsStringAsync()).Trim();
                if (response.StatusCode == HttpStatusCode.OK && backends.Contains(body))
                {
                    return null;
                }

                last = $"{(int)response.StatusCode} \"{(body.Length > 40 ? body[..40] : body)}\" (not one of the service's containers)";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = SteadyHttpClient.Cause(e, e is TaskCanceledException);
            }

            await Task.Delay(200);
        }

        return $"GET {url}: {last}";
    }

    private sealed record SwarmTask(string Id, string State, string DesiredState, DateTime Timestamp, string ContainerId);

    private static async Task<List<SwarmTask>> TasksAsync(HttpClient docker, string service)
    {
        var filters = Uri.EscapeDataString($$"""{"service":["{{service}}"]}""");
        using var tasks = JsonDocument.Parse(await docker.GetStringAsync($"tasks?filters={filters}"));
        return [.. tasks.RootElement.EnumerateArray().Select(t =>
        {
            var status = t.GetProperty("Status");
            var container = status.TryGetProperty("ContainerStatus", out var c) && c.TryGetProperty("ContainerID", out var id) ? id.GetString() ?? "" : "";
            return new SwarmTask(t.GetProperty("ID").GetString()!, status.GetProperty("State").GetString()!, t.GetProperty("DesiredState").GetString()!,
                status.GetProperty("Timestamp").GetDateTime().ToUniversalTime(), container);
        })];
    }

    private static async Task<List<SwarmTask>> RunningTasksAsync(HttpClient docker, string service) =>
        [.. (await TasksAsync(docker, service)).Where(t => t.State == "running" && t.DesiredState == "running")];

    private static Task WaitRunningAsync(HttpClient docker, string service, int replicas, TimeSpan limit) =>
        Polling.UntilAsync(async () => (await RunningTasksAsync(docker, service)).Count == replicas, $"{replicas} tasks of {service} run", limit,
            () => DockerCli.Run("service", "ps", "--no-trunc", service).Output, intervalMilliseconds: 200);

    /// <summary>Converged: the update completed, and as many tasks run as asked, none of them from before.</summary>
    private static Task WaitConvergedAsync(HttpClient docker, string service, int replicas, List<SwarmTask> before, TimeSpan limit) =>
        Polling.UntilAsync(async () =>
        {
            using var inspected = JsonDocument.Parse(await docker.GetStringAsync($"services/{service}"));
            var completed = inspected.RootElement.TryGetProperty("UpdateStatus", out var update) && update.GetProperty("State").GetString() == "completed";
            var running = await RunningTasksAsync(docker, service);
            return completed && running.Count == replicas && running.All(t => before.All(b => b.Id != t.Id));
        }, $"the update of {service} converges", limit, () => DockerCli.Run("service", "ps", "--no-trunc", service).Output, intervalMilliseconds: 100);

    /// <summary>Every 100 ms: each task not there before, once RUNNING (after its health check passed), with its container's start.</summary>
    private static async Task WatchNewTasksAsync(HttpClient docker, string service, List<SwarmTask> before, Dictionary<string, BackendTimes> seen, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var task in await TasksAsync(docker, service))
            {
                if (task.State != "running" || task.ContainerId.Length == 0 || before.Any(b => b.Id == task.Id) || seen.ContainsKey(task.Id))
                {
                    continue;
                }

                using var container = JsonDocument.Parse(await docker.GetStringAsync($"containers/{task.ContainerId}/json"));
                var started = container.RootElement.GetProperty("State").GetProperty("StartedAt").GetDateTime().ToUniversalTime();
                seen[task.Id] = new BackendTimes(RollingTarget.BackendOf(task.ContainerId), started, task.Timestamp);
                Console.Error.WriteLine($"lb-rolling: Swarm: new task {task.Id[..12]} container {task.ContainerId[..12]} started {started:HH:mm:ss.fff}, RUNNING {task.Timestamp:HH:mm:ss.fff}");
            }

            try
            {
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static Task WaitGoneAsync(HttpClient docker, string service, TimeSpan limit) =>
        Polling.UntilAsync(async () =>
        {
            var filters = Uri.EscapeDataString($$"""{"label":["com.docker.swarm.service.name={{service}}"]}""");
            using var containers = JsonDocument.Parse(await docker.GetStringAsync($"containers/json?all=true&filters={filters}"));
            return containers.RootElement.GetArrayLength() == 0;
        }, $"the containers of {service} are gone", limit, intervalMilliseconds: 200);

    /// <summary>A port nothing listens on, on any address (published ports bind them all), outside the ephemeral range.</summary>
    private static int FreePort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = Random.Shared.Next(21000, 30000);
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.Any, port));
                return port;
            }
            catch (SocketException)
            {
                // In use: another.
            }
        }

        throw new InvalidOperationException("no free port found in 21000-29999 after 50 attempts");
    }

    /// <summary>The Engine API on the local socket: one cheap call per poll instead of a docker process.</summary>
    private static HttpClient DockerApi() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellation) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint("/var/run/docker.sock"), cancellation);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = new Uri("http://docker/v1.41/"), Timeout = TimeSpan.FromSeconds(10) };
}
