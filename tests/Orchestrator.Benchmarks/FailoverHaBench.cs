using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Scheduler failover with the default settings (Scheduler:Etcd:LeaseTtl 10 s), on real processes: three
/// schedulers on a three-member etcd (<see cref="HaSchedulers"/>, whose supervisor restarts exits 2, 4
/// and 5 as systemd does) and real agents on Docker given all three addresses. The leader is killed
/// (SIGKILL, a crash) or frozen (SIGSTOP, a hung VM: sockets open, nothing answers), and from that
/// moment three things are timed, concurrently: a new leader serving (grpc.health SERVING on it and a
/// write it accepts), every agent connected to it (DescribeNodes on the new leader), and a RunTask
/// answered with a task placed through a failover client (<see cref="FailoverCallInvoker"/>: the next
/// scheduler on UNAVAILABLE, 8 s per attempt). A frozen leader is thawed after: it must find itself
/// deposed, exit 5 and be restarted as a standby; a killed one is started again as a standby.
/// The rounds run on one cluster, each against whichever scheduler leads then.
/// </summary>
internal static class FailoverHaBench
{
    private const string Image = "orchestrator-test/busybox:latest";
    private static readonly TimeSpan StepLimit = TimeSpan.FromSeconds(90);

    public static async Task RunAsync(Report report, int rounds, int agents)
    {
        using var schedulers = await HaSchedulers.StartAsync(3, etcd: null, leaseTtl: TimeSpan.FromSeconds(10));
        var directory = Directory.CreateTempSubdirectory("orchestrator-bench-ha-agents-").FullName;
        var prefix = $"haf-{Guid.NewGuid():N}"[..12];
        var nodes = Enumerable.Range(1, agents).Select(i => $"{prefix}-{i}").ToList();
        var agentProcesses = new List<DaemonProcess>();
        try
        {
            for (var i = 0; i < agents; i++)
            {
                agentProcesses.Add(DaemonProcess.Start("orchestrator-agent.dll",
                [
                    $"--Agent:SchedulerAddress={schedulers.Addresses}", $"--Agent:JoinToken={schedulers.JoinToken}",
                    $"--Agent:StateDirectory={Path.Combine(directory, nodes[i])}", $"--Agent:SecretsDirectory={Path.Combine(directory, nodes[i], "secrets")}",
                    $"--Agent:NodeName={nodes[i]}", $"--Agent:HostIp=127.0.0.{i + 1}",
                    "--Agent:CpuOverride=4096", "--Agent:MemoryOverride=4096", "--Agent:MetricsListen=", "--Logging:LogLevel:Default=Warning",
                ]));
            }

            var leader = await schedulers.WaitForLeaderAsync(StepLimit);
            await WaitAsync(() => AllConnectedAsync(schedulers, leader, nodes), $"all {agents} agents connect to the leader", schedulers);
            await new TaskDefinitionService.TaskDefinitionServiceClient(schedulers.Failover).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "sleeper",
                ContainerDefinitions = { new ContainerDefinition { Name = "main", Image = Image, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 1 } },
            });
            Console.Error.WriteLine($"failover-ha: 3 schedulers on a 3-member etcd, {agents} agents connected to scheduler {leader}");

            foreach (var freeze in new[] { false, true })
            {
                var how = freeze ? "leader frozen (SIGSTOP)" : "leader killed (SIGKILL)";
                var serving = new List<double>();
                var connected = new List<double>();
                var answered = new List<double>();
                var back = new List<double>();
                for (var round = 0; round < rounds; round++)
                {
                    var figures = await RoundAsync(schedulers, nodes, freeze);
                    serving.Add(figures.Serving.TotalSeconds);
                    connected.Add(figures.Connected.TotalSeconds);
                    answered.Add(figures.Answered.TotalSeconds);
                    back.Add(figures.Back.TotalSeconds);
                    Console.Error.WriteLine($"failover-ha: {how}, round {round + 1}: serving {figures.Serving.TotalSeconds:F1} s, agents {figures.Connected.TotalSeconds:F1} s, RunTask {figures.Answered.TotalSeconds:F1} s, old leader back as standby {figures.Back.TotalSeconds:F1} s");
                }

                report.Add("failover-ha", $"{how}, LeaseTtl 10 s (default), 3 schedulers, 3 etcd members, {agents} agents, {rounds} rounds: new leader serving and writing",
                    Spread(serving), $"every agent connected to it: {Spread(connected)}; a RunTask placed through a failover client: {Spread(answered)}");
                report.Add("failover-ha", $"{how}: the old leader back as a standby ({(freeze ? "thawed at once after the failover: deposed, exit 5, restarted by the supervisor" : "started again after the failover")})",
                    Spread(back), "from the thaw or the start to grpc.health SERVING as a standby");
            }
        }
        finally
        {
            foreach (var agent in agentProcesses)
            {
                agent.Dispose();
            }

            foreach (var node in nodes)
            {
                var (_, ids) = DockerCli.Run("ps", "-aq", "--filter", $"label=orchestrator.node={node}");
                foreach (var id in ids.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    DockerCli.Run("rm", "-f", id);
                }
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed record Round(TimeSpan Serving, TimeSpan Connected, TimeSpan Answered, TimeSpan Back);

    private static async Task<Round> RoundAsync(HaSchedulers schedulers, List<string> nodes, bool freeze)
    {
        var old = await schedulers.WaitForLeaderAsync(StepLimit);
        await WaitAsync(() => AllConnectedAsync(schedulers, old, nodes), "every agent is connected to the leader before the round", schedulers);
        var clock = Stopwatch.StartNew();
        if (freeze)
        {
            schedulers.Freeze(old);
        }
        else
        {
            schedulers.Kill(old);
        }

        // The three are timed at once from the same moment: each is what a different party waits for.
        var servingTask = NewLeaderWritesAsync(schedulers, old, clock);
        var answeredTask = RunTaskPlacedAsync(schedulers, clock);
        var (leader, serving) = await servingTask;
        await WaitAsync(() => AllConnectedAsync(schedulers, leader, nodes), "every agent connects to the new leader", schedulers);
        var connected = clock.Elapsed;
        var answered = await answeredTask;

        var backClock = Stopwatch.StartNew();
        var exitsBefore = schedulers.Schedulers[old].ExitCodes.Count;
        if (freeze)
        {
            schedulers.Thaw(old);
            await WaitAsync(() => Task.FromResult(schedulers.Schedulers[old].ExitCodes.Count > exitsBefore), "the thawed leader exits", schedulers);
            var code = schedulers.Schedulers[old].ExitCodes[exitsBefore];
            if (code != 5)
            {
                throw new InvalidOperationException($"the thawed leader exited with {code}, not 5 (deposed). {schedulers.Describe()}");
            }
        }
        else
        {
            schedulers.Start(old);
        }

        await WaitAsync(async () => IsRunning(schedulers.Schedulers[old]) && await ServingAsync(schedulers, old),
            "the old leader serves again as a standby", schedulers);
        return new Round(serving, connected, answered, backClock.Elapsed);
    }

    /// <summary>Polls until a scheduler other than <paramref name="old"/> leads by its log, answers SERVING and accepts a write (a commit).</summary>
    private static async Task<(int Leader, TimeSpan At)> NewLeaderWritesAsync(HaSchedulers schedulers, int old, Stopwatch clock)
    {
        var deadline = DateTime.UtcNow + StepLimit;
        while (DateTime.UtcNow < deadline)
        {
            if (schedulers.LeaderIndex is { } leader && leader != old && await ServingAsync(schedulers, leader))
            {
                try
                {
                    await new ClusterService.ClusterServiceClient(schedulers.Channel(leader)).CreateClusterAsync(
                        new CreateClusterRequest { Name = $"failover-{Guid.NewGuid():N}"[..20] }, deadline: DateTime.UtcNow.AddSeconds(2));
                    return (leader, clock.Elapsed);
                }
                catch (RpcException)
                {
                    // Elected, not yet writing (catching up with the store).
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no new leader accepted a write within {StepLimit.TotalSeconds:0} s. {schedulers.Describe()}");
    }

    /// <summary>Calls RunTask through the failover client from the moment of the failure until one task is placed.</summary>
    private static async Task<TimeSpan> RunTaskPlacedAsync(HaSchedulers schedulers, Stopwatch clock)
    {
        var tasks = new TaskService.TaskServiceClient(schedulers.Failover);
        var deadline = DateTime.UtcNow + StepLimit;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var answer = await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper" });
                if (answer.Tasks.Count == 1)
                {
                    return clock.Elapsed;
                }
            }
            catch (RpcException)
            {
                // No leader yet, or its answer lost with it: a client tries again.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no RunTask was placed within {StepLimit.TotalSeconds:0} s. {schedulers.Describe()}");
    }

    private static async Task<bool> AllConnectedAsync(HaSchedulers schedulers, int leader, List<string> nodes)
    {
        var described = await new NodeService.NodeServiceClient(schedulers.Channel(leader)).DescribeNodesAsync(
            new DescribeNodesRequest { Names = { nodes } }, deadline: DateTime.UtcNow.AddSeconds(2));
        return described.Nodes.Count == nodes.Count && described.Nodes.All(n => n.AgentConnected);
    }

    /// <summary>Whether its current process runs; the supervisor may be replacing it (the old one disposed) as this reads it.</summary>
    private static bool IsRunning(HaScheduler scheduler)
    {
        try
        {
            return scheduler.Process is { HasExited: false };
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static async Task<bool> ServingAsync(HaSchedulers schedulers, int index)
    {
        try
        {
            var reply = await new Health.HealthClient(schedulers.Channel(index)).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(1));
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    private static string Spread(List<double> values)
    {
        var sorted = values.Order().ToList();
        return $"min {sorted[0]:F1} s, median {sorted[sorted.Count / 2]:F1} s, max {sorted[^1]:F1} s";
    }

    private static Task WaitAsync(Func<Task<bool>> condition, string what, HaSchedulers schedulers) =>
        Polling.UntilAsync(condition, what, StepLimit, schedulers.Describe, intervalMilliseconds: 20);
}
