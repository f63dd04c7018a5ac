using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Node loss with the default settings (5 s heartbeats, 15 s timeout, 60 s grace), on real processes
/// and Docker: a scheduler, two agents, a service with one task on each. One agent is frozen with
/// SIGSTOP (a hung host: its sockets stay open, nothing answers). Measured from the freeze: the node
/// shown disconnected, and the replacement RUNNING on the other node (its task STOPPED, NodeLost);
/// then, after SIGCONT, how long the stale copy runs on. No Swarm, Nomad or Kubernetes cluster can
/// run here, so their figures in the README are their documented defaults, not measurements.
/// </summary>
internal static class FailoverBench
{
    private const string Image = "orchestrator-test/busybox:latest";

    public static async Task RunAsync(Report report, int runs)
    {
        var detected = new List<double>();
        var replaced = new List<double>();
        var afterGrace = new List<double>();
        var healed = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var (detect, replace, heal) = await OnceAsync();
            detected.Add(detect.TotalSeconds);
            replaced.Add(replace.TotalSeconds);
            afterGrace.Add((replace - detect).TotalSeconds - 60); // the grace runs from the disconnect
            healed.Add(heal.TotalSeconds);
        }

        report.Add("failover", $"node frozen (SIGSTOP), default settings, {runs} runs: disconnected / replacement RUNNING elsewhere",
            $"{Range(detected)} / {Range(replaced)}",
            $"targets ≤ 15 s / ≤ grace + 5 s; replacement RUNNING {Range(afterGrace)} after the grace; after SIGCONT the stale copy stopped in {Range(healed)}");
    }

    private static string Range(List<double> values) =>
        values.Count == 1 ? $"{values[0]:F1} s" : $"{values.Min():F1}–{values.Max():F1} s";

    private static async Task<(TimeSpan Detect, TimeSpan Replace, TimeSpan Heal)> OnceAsync()
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-bench-").FullName;
        var prefix = $"failover-{Guid.NewGuid():N}"[..17];
        using var scheduler = new BenchScheduler(directory, secure: true);
        var agents = new List<DaemonProcess>();
        try
        {
            var channel = scheduler.Channel;
            await scheduler.ServingAsync();

            for (var i = 1; i <= 2; i++)
            {
                agents.Add(DaemonProcess.Start("orchestrator-agent.dll",
                [
                    .. scheduler.AgentArguments($"{prefix}-{i}", Path.Combine(directory, $"agent-{i}")), $"--Agent:HostIp=127.0.0.{i}",
                    "--Agent:CpuOverride=4096", "--Agent:MemoryOverride=4096", "--Logging:LogLevel:Default=Warning",
                ]));
            }

            var nodes = new NodeService.NodeServiceClient(channel);
            var tasks = new TaskService.TaskServiceClient(channel);
            await WaitAsync(async () => (await nodes.ListNodesAsync(new ListNodesRequest())).Nodes.Count(n => n.AgentConnected) == 2, "both agents register");
            await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "sleeper",
                ContainerDefinitions = { new ContainerDefinition { Name = "main", Image = Image, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 1 } },
            });
            await new ServiceService.ServiceServiceClient(channel).CreateServiceAsync(new CreateServiceRequest
            {
                ServiceName = "sleepers", TaskDefinition = "sleeper", DesiredCount = 2,
                PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } },
            });
            await WaitAsync(async () => (await RunningAsync(tasks)).Count == 2, "both tasks run");
            var frozenNode = $"{prefix}-2";
            var lost = (await RunningAsync(tasks)).Single(t => t.Node == frozenNode);
            var lostContainer = lost.Containers.Single().RuntimeId;

            var clock = Stopwatch.StartNew();
            agents[1].Freeze();
            await WaitAsync(async () => !(await nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { frozenNode } })).Nodes[0].AgentConnected, "the node shows disconnected");
            var detect = clock.Elapsed;
            await WaitAsync(async () => (await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { lost.TaskId } })).Tasks[0].LastStatus == TaskStatus.Stopped, "the lost task is STOPPED");
            await WaitAsync(async () => (await RunningAsync(tasks)).Count(t => t.Node != frozenNode) == 2, "the replacement runs");
            var replace = clock.Elapsed;

            var healClock = Stopwatch.StartNew();
            agents[1].Thaw();
            await WaitAsync(() => Task.FromResult(DockerCli.Run("inspect", "--format", "{{.State.Running}}", lostContainer).Output == "false"), "the stale copy stops");
            return (detect, replace, healClock.Elapsed);
        }
        finally
        {
            foreach (var agent in agents)
            {
                agent.Dispose();
            }

            foreach (var node in new[] { $"{prefix}-1", $"{prefix}-2" })
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

    private static async Task<List<Contracts.V1.Task>> RunningAsync(TaskService.TaskServiceClient tasks)
    {
        var ids = (await tasks.ListTasksAsync(new ListTasksRequest { Service = "sleepers", DesiredStatus = TaskStatus.Running })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks.Where(t => t.LastStatus == TaskStatus.Running)];
    }

    private static Task WaitAsync(Func<Task<bool>> condition, string what) =>
        Polling.UntilAsync(condition, what, TimeSpan.FromMinutes(3), intervalMilliseconds: 50);
}
