using System.Diagnostics;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Cni;
using Orchestrator.Agent.Runtime.Logs;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The agent on each of its runtimes, Docker and containerd (a containerd of the bench's own, the test
/// image imported), against the same containers started raw in the same run: Docker.DotNet
/// create+start and `ctr run -d`. "runtime-start": one task and 50 tasks RunTask → RUNNING.
/// "thousand N": N tasks (busybox sleep, 6 MiB each) on one node: time until all RUNNING, the agent's
/// RSS and CPU at rest with them running, how late heartbeats and reports got while they started (the
/// scheduler's and the agent's Prometheus gauges), and the time to stop them all.
/// </summary>
internal static class RuntimeBench
{
    private const string Image = "orchestrator-test/busybox:latest";
    private const string CtrImage = "docker.io/orchestrator-test/busybox:latest";
    private const string Bridge = "orchbench0";

    // Room for thousands of containers on the bench's bridge, apart from the agents' default 10.88.0.0/16.
    private const string Subnet = "10.219.128.0/20";

    public static async Task StartAsync(Report report)
    {
        using var containerd = await ContainerdProcess.StartAsync();
        try
        {
            containerd.ImportFromDocker();
            using var docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
            foreach (var runtime in new[] { RuntimeCapabilities.Docker, RuntimeCapabilities.Containerd })
            {
                await using var agent = await BenchAgent.StartAsync(runtime, containerd, metrics: false);
                await agent.RegisterSleeperAsync(memory: 16);
                var single = new List<double>();
                for (var i = 0; i < 7; i++)
                {
                    single.Add((await agent.RunAllAsync(1)).TotalMilliseconds);
                    await agent.StopAllAsync();
                }

                var burst = await agent.RunAllAsync(50);
                await agent.StopAllAsync();

                var (rawName, rawSingle, rawBurst) = runtime == RuntimeCapabilities.Docker
                    ? ("Docker.DotNet create+start", await RawDockerAsync(docker, 1, 7, 16), await RawDockerAsync(docker, 50, 1, 16))
                    : ("ctr run -d (no CNI network)", await RawCtrAsync(containerd, 1, 7, 16), await RawCtrAsync(containerd, 50, 1, 16));
                report.Add("runtime", $"{runtime}: one task RunTask → RUNNING (median of the last 5 of 7)", $"{Median(single.Skip(2)):F0} ms",
                    $"raw {rawName}: {rawSingle.TotalMilliseconds:F0} ms");
                report.Add("runtime", $"{runtime}: 50 tasks, RunTask(count 50) → all RUNNING", $"{burst.TotalSeconds:F2} s",
                    $"raw {rawName}, 50 at once: {rawBurst.TotalSeconds:F2} s");
            }
        }
        finally
        {
            ShellCommand.Run("ip", "link", "delete", Bridge);
        }
    }

    public static async Task ThousandAsync(Report report, int count)
    {
        using var containerd = await ContainerdProcess.StartAsync();
        try
        {
            containerd.ImportFromDocker();
            using var docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
            foreach (var runtime in new[] { RuntimeCapabilities.Docker, RuntimeCapabilities.Containerd })
            {
                await using var agent = await BenchAgent.StartAsync(runtime, containerd, metrics: true);
                await agent.RegisterSleeperAsync(memory: 6);
                var idleEmpty = await ProcessUsage.SampleAsync(agent.Process.Id, TimeSpan.FromSeconds(5));
                using var sampling = new CancellationTokenSource();
                var gauges = agent.SampleGaugesAsync(sampling.Token);
                var started = await agent.RunAllAsync(count);
                await sampling.CancelAsync();
                var (heartbeatAge, reportQueue) = await gauges;
                var idleFull = await ProcessUsage.SampleAsync(agent.Process.Id, TimeSpan.FromSeconds(10));
                var shims = ProcessUsage.Shims(runtime == RuntimeCapabilities.Docker ? "-namespace moby" : containerd.Socket);
                var stopped = await agent.StopAllAsync();

                var raw = runtime == RuntimeCapabilities.Docker ? "Docker.DotNet" : "ctr run -d";
                var rawStart = runtime == RuntimeCapabilities.Docker ? await RawDockerAsync(docker, count, 1, 6, remove: false) : await RawCtrAsync(containerd, count, 1, 6, remove: false);
                var rawShims = ProcessUsage.Shims(runtime == RuntimeCapabilities.Docker ? "-namespace moby" : containerd.Socket);
                var rawStop = runtime == RuntimeCapabilities.Docker ? await RemoveRawDockerAsync(docker) : RemoveRawCtr(containerd);

                report.Add("thousand", $"{runtime}: {count} tasks (sleep, 6 MiB) on one node → all RUNNING", $"{started.TotalSeconds:F1} s",
                    $"raw {raw}, {count} (16 at a time): {rawStart.TotalSeconds:F1} s");
                report.Add("thousand", $"{runtime}: agent at rest with {count} running", $"{idleFull.RssMiB:F0} MiB RSS, {idleFull.CpuPercent:F2}% of one core",
                    $"with 0: {idleEmpty.RssMiB:F0} MiB, {idleEmpty.CpuPercent:F2}%; shims: {shims.Count} using {shims.RssMiB:F0} MiB (raw: {rawShims.Count}, {rawShims.RssMiB:F0} MiB)");
                report.Add("thousand", $"{runtime}: while they start, oldest heartbeat (scheduler) / report queue (agent), max", $"{heartbeatAge:F1} s / {reportQueue:F0}",
                    "sampled every second from /metrics");
                report.Add("thousand", $"{runtime}: StopTask of all {count} → all STOPPED", $"{stopped.TotalSeconds:F1} s",
                    $"raw {raw}, stop and remove all: {rawStop.TotalSeconds:F1} s");
            }
        }
        finally
        {
            ShellCommand.Run("ip", "link", "delete", Bridge);
        }
    }

    private static async Task<TimeSpan> RawDockerAsync(DockerClient docker, int count, int rounds, int memoryMiB, bool remove = true)
    {
        var times = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var prefix = $"rawbench-{Guid.NewGuid():N}"[..17];
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = count == 1 ? 1 : 16 }, async (i, cancellation) =>
            {
                var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters
                {
                    Name = $"{prefix}-{i}",
                    Image = Image,
                    Cmd = ["sleep", "3600"],
                    Labels = new Dictionary<string, string> { ["orchestrator-bench"] = "raw" },
                    HostConfig = new HostConfig { Memory = (long)memoryMiB << 20, MemorySwap = (long)memoryMiB << 20, Init = true },
                }, cancellation);
                await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellation);
            });
            times.Add(clock.Elapsed.TotalMilliseconds);
            if (remove)
            {
                await RemoveRawDockerAsync(docker);
            }
        }

        return TimeSpan.FromMilliseconds(Median(times.Skip(rounds > 2 ? 2 : 0)));
    }

    private static async Task<TimeSpan> RemoveRawDockerAsync(DockerClient docker)
    {
        var clock = Stopwatch.StartNew();
        var listed = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { ["orchestrator-bench=raw"] = true } },
        });
        await Parallel.ForEachAsync(listed, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (c, cancellation) =>
        {
            await docker.Containers.StopContainerAsync(c.ID, new ContainerStopParameters { WaitBeforeKillSeconds = 2 }, cancellation);
            await docker.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true }, cancellation);
        });
        return clock.Elapsed;
    }

    private static async Task<TimeSpan> RawCtrAsync(ContainerdProcess containerd, int count, int rounds, int memoryMiB, bool remove = true)
    {
        var times = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var prefix = $"rawbench-{Guid.NewGuid():N}"[..17];
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = count == 1 ? 1 : 16 }, (i, _) =>
            {
                var (code, output) = containerd.Ctr("run", "-d", "--memory-limit", ((long)memoryMiB << 20).ToString(CultureInfo.InvariantCulture), CtrImage, $"{prefix}-{i}", "sleep", "3600");
                return code == 0 ? ValueTask.CompletedTask : throw new InvalidOperationException($"ctr run failed: {output}");
            });
            times.Add(clock.Elapsed.TotalMilliseconds);
            if (remove)
            {
                RemoveRawCtr(containerd);
            }
        }

        return TimeSpan.FromMilliseconds(Median(times.Skip(rounds > 2 ? 2 : 0)));
    }

    /// <summary>SIGKILL (sleep as PID 1 without an init ignores SIGTERM), then the task and the container with its snapshot.</summary>
    private static TimeSpan RemoveRawCtr(ContainerdProcess containerd)
    {
        var clock = Stopwatch.StartNew();
        var ids = containerd.Ctr("containers", "ls", "-q").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(id => id.StartsWith("rawbench-", StringComparison.Ordinal)).ToList();
        Parallel.ForEach(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, id =>
        {
            containerd.Ctr("tasks", "kill", "-s", "SIGKILL", id);
            containerd.Ctr("tasks", "delete", "-f", id);
            containerd.Ctr("containers", "delete", id);
        });
        return clock.Elapsed;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>A real scheduler and one real agent process on one runtime, and what cleans up after them.</summary>
    private sealed class BenchAgent : IAsyncDisposable
    {
        private readonly string _directory;
        private readonly string _runtime;
        private readonly ContainerdProcess _containerd;
        private readonly BenchScheduler _scheduler;
        private readonly int _metricsPort;

        private BenchAgent(string directory, string runtime, ContainerdProcess containerd, BenchScheduler scheduler, DaemonProcess process, string node, int metricsPort)
        {
            _directory = directory;
            _runtime = runtime;
            _containerd = containerd;
            _scheduler = scheduler;
            Process = process;
            Node = node;
            _metricsPort = metricsPort;
        }

        public DaemonProcess Process { get; }
        public string Node { get; }
        private TaskService.TaskServiceClient Tasks => new(_scheduler.Channel);

        public static async Task<BenchAgent> StartAsync(string runtime, ContainerdProcess containerd, bool metrics)
        {
            var directory = Directory.CreateTempSubdirectory("orchestrator-runtime-bench-").FullName;
            var node = $"rtb-{Guid.NewGuid():N}"[..12];
            var scheduler = new BenchScheduler(directory, secure: true);
            try
            {
                await scheduler.ServingAsync();
            }
            catch
            {
                scheduler.Dispose();
                Directory.Delete(directory, recursive: true);
                throw;
            }

            var metricsPort = DaemonProcess.FreePort();
            string[] containerdSettings = runtime == RuntimeCapabilities.Containerd
                ? ["--Agent:Runtime=containerd", $"--Agent:Containerd:Socket={containerd.Socket}", $"--Agent:Containerd:BridgeName={Bridge}", $"--Agent:Containerd:Subnet={Subnet}"]
                : [];
            var process = DaemonProcess.Start("orchestrator-agent.dll",
            [
                .. scheduler.AgentArguments(node, Path.Combine(directory, "agent")), "--Agent:HostIp=127.0.0.1",
                "--Agent:CpuOverride=200000", "--Agent:MemoryOverride=200000", "--Logging:LogLevel:Default=Warning",
                .. metrics ? new[] { $"--Agent:MetricsListen=127.0.0.1:{metricsPort}" } : [],
                .. containerdSettings,
            ]);
            var agent = new BenchAgent(directory, runtime, containerd, scheduler, process, node, metricsPort);
            try
            {
                await scheduler.AgentConnectedAsync(process);
            }
            catch
            {
                await agent.DisposeAsync();
                throw;
            }

            return agent;
        }

        public Task RegisterSleeperAsync(int memory) =>
            new TaskDefinitionService.TaskDefinitionServiceClient(_scheduler.Channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "sleeper",
                ContainerDefinitions = { new ContainerDefinition { Name = "main", Image = Image, Command = { "sleep", "3600" }, Memory = memory, StopTimeoutSeconds = 2 } },
            }).ResponseAsync;

        /// <summary>RunTask in calls of at most 100 until <paramref name="count"/> are placed, then until all are RUNNING (bounded: 2 min plus 1.5 s a task).</summary>
        public async Task<TimeSpan> RunAllAsync(int count)
        {
            var tasks = Tasks;
            using var watch = tasks.WatchTasks(new WatchTasksRequest());
            await Task.Delay(100); // let the watch subscribe
            var clock = Stopwatch.StartNew();
            var waiting = new HashSet<string>();
            for (var placed = 0; placed < count;)
            {
                var run = await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", Count = Math.Min(100, count - placed) });
                if (run.Failures.Count > 0)
                {
                    throw new InvalidOperationException($"RunTask failed: {run.Failures[0].Reason} {run.Failures[0].Detail}");
                }

                waiting.UnionWith(run.Tasks.Select(t => t.TaskId));
                placed += run.Tasks.Count;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120 + (1.5 * count)));
            var running = new HashSet<string>();
            while (running.Count < waiting.Count && await watch.ResponseStream.MoveNext(timeout.Token))
            {
                var task = watch.ResponseStream.Current.Task;
                if (task.LastStatus == TaskStatus.Running && waiting.Contains(task.TaskId))
                {
                    running.Add(task.TaskId);
                }
                else if (task.LastStatus == TaskStatus.Stopped && waiting.Contains(task.TaskId))
                {
                    throw new InvalidOperationException($"task {task.TaskId} stopped: {task.StoppedReason}");
                }
            }

            return clock.Elapsed;
        }

        /// <summary>StopTask for every task not stopped, until all are STOPPED.</summary>
        public async Task<TimeSpan> StopAllAsync()
        {
            var tasks = Tasks;
            var clock = Stopwatch.StartNew();
            var ids = new List<string>();
            string? next = null;
            do
            {
                var page = await tasks.ListTasksAsync(new ListTasksRequest { DesiredStatus = TaskStatus.Running, MaxResults = 100, NextToken = next ?? "" });
                ids.AddRange(page.TaskIds);
                next = page.NextToken;
            }
            while (!string.IsNullOrEmpty(next));

            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, cancellation) =>
                await tasks.StopTaskAsync(new StopTaskRequest { Task = id }, cancellationToken: cancellation));
            var deadline = DateTime.UtcNow.AddSeconds(120 + (0.5 * ids.Count));
            var open = ids.ToList();
            while (open.Count > 0)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"{open.Count} tasks did not stop");
                }

                var described = new List<Contracts.V1.Task>();
                foreach (var chunk in open.Chunk(100))
                {
                    described.AddRange((await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { chunk } })).Tasks);
                }

                open = [.. described.Where(t => t.LastStatus != TaskStatus.Stopped).Select(t => t.TaskId)];
                if (open.Count > 0)
                {
                    await Task.Delay(100);
                }
            }

            return clock.Elapsed;
        }

        /// <summary>Until cancelled, every second: the scheduler's oldest heartbeat and the agent's unacknowledged reports; their maxima.</summary>
        public async Task<(double HeartbeatAgeSeconds, double ReportQueue)> SampleGaugesAsync(CancellationToken cancellation)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            double heartbeat = 0, queue = 0;
            while (!cancellation.IsCancellationRequested)
            {
                try
                {
                    var scheduler = PrometheusText.Parse(await http.GetStringAsync($"http://127.0.0.1:{_scheduler.MetricsPort}/metrics", cancellation));
                    heartbeat = Math.Max(heartbeat, scheduler.ValueOrZero("orchestrator_heartbeat_age_max_seconds"));
                    var agent = PrometheusText.Parse(await http.GetStringAsync($"http://127.0.0.1:{_metricsPort}/metrics", cancellation));
                    queue = Math.Max(queue, agent.ValueOrZero("orchestrator_agent_report_queue_length"));
                    await Task.Delay(1000, cancellation);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (HttpRequestException)
                {
                    // A scrape missed under load: the next one counts.
                }
            }

            return (heartbeat, queue);
        }

        public async ValueTask DisposeAsync()
        {
            Process.Dispose();
            _scheduler.Dispose();
            if (_runtime == RuntimeCapabilities.Docker)
            {
                foreach (var id in DockerCli.Run("ps", "-a", "-q", "--filter", $"label=orchestrator.node={Node}").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    DockerCli.Run("rm", "-f", id.Trim());
                }
            }
            else
            {
                // As a restarted agent would: the runtime over the same containerd and data directory
                // removes each container with its task, snapshot, network namespace and port rules.
                var data = Path.Combine(_directory, "agent", "containerd");
                var options = new ContainerdOptions { Socket = _containerd.Socket, BridgeName = Bridge, Subnet = Subnet };
                using var clients = new ContainerdClients(options.Socket, options.Namespace);
                using var logs = new LogRotator(TimeProvider.System);
                var runtime = new ContainerdRuntime(clients, options, data, new ContainerdImages(clients, options), new CniNetwork(options, data),
                    new LocalVolumes(Path.Combine(data, "volumes")), logs);
                foreach (var container in await runtime.ListAsync("orchestrator.node", Node, CancellationToken.None))
                {
                    await runtime.RemoveAsync(container.Id, CancellationToken.None);
                }
            }

            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>What a process and the engines' shims use, from /proc.</summary>
    private static class ProcessUsage
    {
        public sealed record Usage(double RssMiB, double CpuPercent);

        /// <summary>RSS at the end and CPU over the window.</summary>
        public static async Task<Usage> SampleAsync(int pid, TimeSpan window)
        {
            var before = CpuTicks(pid);
            await Task.Delay(window);
            var after = CpuTicks(pid);
            const double TicksPerSecond = 100; // USER_HZ on Linux
            return new Usage(RssKiB(pid) / 1024, (after - before) / TicksPerSecond / window.TotalSeconds * 100);
        }

        /// <summary>The runc shims whose command line names this containerd (its socket) or Docker's namespace, and their RSS together.</summary>
        public static (int Count, double RssMiB) Shims(string marker)
        {
            var count = 0;
            double kib = 0;
            foreach (var directory in Directory.GetDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(directory), out var pid))
                {
                    continue;
                }

                try
                {
                    var command = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                    if (command.Contains("containerd-shim-runc-v2", StringComparison.Ordinal) && command.Contains(marker, StringComparison.Ordinal))
                    {
                        count++;
                        kib += RssKiB(pid);
                    }
                }
                catch (IOException)
                {
                    // Gone meanwhile.
                }
            }

            return (count, kib / 1024);
        }

        private static double RssKiB(int pid) =>
            File.ReadAllLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).SingleOrDefault();

        private static long CpuTicks(int pid)
        {
            // Fields after the command name: utime is the 14th and stime the 15th field of /proc/PID/stat.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
    }
}
