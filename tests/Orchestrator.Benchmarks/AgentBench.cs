using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The agent on this host's Docker: start latency and a burst of 50 against plain Docker.DotNet
/// create+start of the same containers (and Docker Swarm, the peer a user would pick), plus the agent's
/// own memory and CPU at rest with 0 and 50 tasks.
/// </summary>
internal static class AgentBench
{
    private const string Image = "orchestrator-test/busybox:latest";

    public static async Task RunAsync(Report report, bool swarm)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-agent-bench-").FullName;
        var node = $"bench-{Guid.NewGuid():N}"[..14];
        using var docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
        using var scheduler = new BenchScheduler(directory, secure: true);
        var channel = scheduler.Channel;
        await scheduler.ServingAsync();
        var nodes = new NodeService.NodeServiceClient(channel);
        string[] arguments =
        [
            .. scheduler.AgentArguments(node, Path.Combine(directory, "agent")), "--Agent:HostIp=127.0.0.1",
            "--Agent:CpuOverride=200000", "--Agent:MemoryOverride=200000", "--Logging:LogLevel:Default=Warning",
        ];

        // Joining: the agent process from its start until its node is connected, first with the join
        // token (fetch and check the CA, key, CSR, Join, then mutual TLS), then again with the
        // certificate it kept: the difference is what joining costs.
        var joinClock = Stopwatch.StartNew();
        var first = DaemonProcess.Start("orchestrator-agent.dll", arguments);
        await ConnectedAsync(nodes, first, connected: true);
        var joined = joinClock.Elapsed;
        first.KillHard();
        first.Dispose();
        await ConnectedAsync(nodes, null, connected: false);
        var againClock = Stopwatch.StartNew();
        using var agent = DaemonProcess.Start("orchestrator-agent.dll", arguments);
        await ConnectedAsync(nodes, agent, connected: true);
        var again = againClock.Elapsed;
        report.Add("security", "a real agent process: start → node connected, joining with the join token", $"{joined.TotalSeconds:F2} s",
            $"the same agent started again with the certificate it kept: {again.TotalSeconds:F2} s");
        try
        {

            var definitions = new TaskDefinitionService.TaskDefinitionServiceClient(channel);
            await definitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "sleeper",
                ContainerDefinitions = { new ContainerDefinition { Name = "main", Image = Image, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 1 } },
            });
            var tasks = new TaskService.TaskServiceClient(channel);

            var idleEmpty = await Sample(agent.Id, TimeSpan.FromSeconds(10));

            // One task at a time: RunTask until the agent reports RUNNING, against plain create+start.
            var single = new List<double>();
            var plain = new List<double>();
            for (var i = 0; i < 12; i++)
            {
                single.Add((await RunAndWait(tasks, 1)).TotalMilliseconds);
                plain.Add((await PlainCreateStart(docker, 1, $"plain-{node}-{i}")).TotalMilliseconds);
            }

            await StopAll(tasks);
            await RemovePlain(docker, node);
            var singleMedian = Median(single.Skip(2));
            var plainMedian = Median(plain.Skip(2));
            report.Add("agent", "one task: RunTask → RUNNING reported (median of 10)", $"{singleMedian:F0} ms",
                $"plain Docker.DotNet create+start of the same container: {plainMedian:F0} ms ({singleMedian / plainMedian:F2}×)");

            // A burst of 50.
            var burst = await RunAndWait(tasks, 50);
            var idleFull = await Sample(agent.Id, TimeSpan.FromSeconds(10));
            await StopAll(tasks);
            var plainBurst = await PlainCreateStart(docker, 50, $"burst-{node}");
            await RemovePlain(docker, node);
            var swarmNote = swarm ? await SwarmBurst() : "Swarm not measured (pass \"swarm\")";
            report.Add("agent", "50 tasks at once: RunTask(count 50) → all RUNNING", $"{burst.TotalSeconds:F2} s",
                $"50 parallel plain create+starts: {plainBurst.TotalSeconds:F2} s ({burst / plainBurst:F2}×); {swarmNote}");
            report.Add("agent", "agent process at rest, 0 tasks", $"{idleEmpty.RssMiB:F0} MiB RSS, {idleEmpty.CpuPercent:F2}% of one core", "over 10 s");
            report.Add("agent", "agent process at rest, 50 running tasks", $"{idleFull.RssMiB:F0} MiB RSS, {idleFull.CpuPercent:F2}% of one core", "over 10 s");
        }
        finally
        {
            agent.Dispose();
            scheduler.Dispose();
            foreach (var container in await docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"orchestrator.node={node}"] = true } },
            }))
            {
                await docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            }

            await RemovePlain(docker, node);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task ConnectedAsync(NodeService.NodeServiceClient nodes, DaemonProcess? agent, bool connected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await nodes.ListNodesAsync(new ListNodesRequest())).Nodes.Any(n => n.AgentConnected) != connected)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"the agent did not {(connected ? "register" : "go")}: " + string.Join("\n", agent?.StandardOutput.TakeLast(10) ?? []));
            }

            await Task.Delay(20);
        }
    }

    private static async Task<TimeSpan> RunAndWait(TaskService.TaskServiceClient tasks, int count)
    {
        using var watch = tasks.WatchTasks(new WatchTasksRequest());
        await Task.Delay(100); // let the watch subscribe
        var clock = Stopwatch.StartNew();
        var run = await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", Count = count });
        var waiting = run.Tasks.Select(t => t.TaskId).ToHashSet();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (waiting.Count > 0 && await watch.ResponseStream.MoveNext(timeout.Token))
        {
            var task = watch.ResponseStream.Current.Task;
            if (task.LastStatus == TaskStatus.Running)
            {
                waiting.Remove(task.TaskId);
            }
            else if (task.LastStatus == TaskStatus.Stopped && waiting.Contains(task.TaskId))
            {
                throw new InvalidOperationException($"task {task.TaskId} stopped: {task.StoppedReason}");
            }
        }

        return clock.Elapsed;
    }

    private static async Task StopAll(TaskService.TaskServiceClient tasks)
    {
        var ids = await tasks.ListTasksAsync(new ListTasksRequest { DesiredStatus = TaskStatus.Running, MaxResults = 1000 });
        await Task.WhenAll(ids.TaskIds.Select(id => tasks.StopTaskAsync(new StopTaskRequest { Task = id }).ResponseAsync));
        while ((await tasks.ListTasksAsync(new ListTasksRequest { MaxResults = 1000 })).TaskIds.Count > 0)
        {
            var all = await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { (await tasks.ListTasksAsync(new ListTasksRequest { MaxResults = 100 })).TaskIds } });
            if (all.Tasks.All(t => t.LastStatus == TaskStatus.Stopped))
            {
                return;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The baseline: the same container (init, memory limit, labels) created and started straight through Docker.DotNet.</summary>
    private static async Task<TimeSpan> PlainCreateStart(DockerClient docker, int count, string prefix)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Name = $"{prefix}-{i}",
                Image = Image,
                Cmd = ["sleep", "3600"],
                Labels = new Dictionary<string, string> { ["orchestrator-bench"] = "plain" },
                HostConfig = new HostConfig { Memory = 16L << 20, MemorySwap = 16L << 20, Init = true },
            });
            await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        }));
        return clock.Elapsed;
    }

    private static async Task RemovePlain(DockerClient docker, string node)
    {
        var listed = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [node] = true } },
        });
        await Task.WhenAll(listed.Select(c => docker.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true })));
    }

    /// <summary>docker swarm on the same engine, bound to loopback, with the local image and no registry look-up.</summary>
    private static async Task<string> SwarmBurst()
    {
        if (Cli("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377").ExitCode != 0)
        {
            return "Swarm could not be initialised here";
        }

        try
        {
            var clock = Stopwatch.StartNew();
            var created = Cli("service", "create", "--detach", "--no-resolve-image", "--name", "orchestrator-bench", "--replicas", "50", "--stop-grace-period", "1s", Image, "sleep", "3600");
            if (created.ExitCode != 0)
            {
                return $"Swarm refused the service: {created.Output}";
            }

            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline)
            {
                var running = Cli("service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", "orchestrator-bench").Output
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(s => s.StartsWith("Running", StringComparison.Ordinal));
                if (running >= 50)
                {
                    return $"Docker Swarm, service create --replicas 50 → 50 running: {clock.Elapsed.TotalSeconds:F2} s";
                }

                await Task.Delay(200);
            }

            return "Swarm did not reach 50 running within 3 minutes";
        }
        finally
        {
            Cli("service", "rm", "orchestrator-bench");
            Cli("swarm", "leave", "--force");
        }
    }

    private static (int ExitCode, string Output) Cli(params string[] arguments) => DockerCli.Run(arguments);

    private sealed record Usage(double RssMiB, double CpuPercent);

    /// <summary>RSS at the end and CPU over the window, from /proc.</summary>
    private static async Task<Usage> Sample(int pid, TimeSpan window)
    {
        var before = CpuTicks(pid);
        await Task.Delay(window);
        var after = CpuTicks(pid);
        var rssKiB = File.ReadAllLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture)).Single();
        const double TicksPerSecond = 100; // USER_HZ on Linux
        return new Usage(rssKiB / 1024, (after - before) / TicksPerSecond / window.TotalSeconds * 100);
    }

    private static long CpuTicks(int pid)
    {
        // Fields after the command name: utime is the 14th and stime the 15th field of /proc/PID/stat.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
