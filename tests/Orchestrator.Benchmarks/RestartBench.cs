using System.Diagnostics;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// A scheduler restart at scale, over real gRPC: the daemon as its own process, hundreds of simulated
/// agents each running tasks, then kill -9 and a start on the same database. Measured from the kill:
/// serving again, every agent registered again, and the cluster back in step (every task RUNNING with
/// its status known). The agents count what they were told to start or stop after the restart; the
/// right number is 0. Baseline in the same run: the same process started on an empty database.
/// </summary>
internal static class RestartBench
{
    public static async Task RunAsync(Report report, int agents, int tasksPerAgent)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-bench-").FullName;
        var port = DaemonProcess.FreePort();
        var dbPath = Path.Combine(directory, "bench.db");
        string[] settings = ["--Logging:LogLevel:Default=Warning"];
        var daemon = DaemonProcess.StartScheduler(dbPath, port, settings);
        using var stop = new CancellationTokenSource();
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            });
            await daemon.RequireServingAsync(channel);
            var baseline = await EmptyStartAsync(directory);

            await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "bench",
                ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 64, Memory = 128 } },
            });
            var simulated = Enumerable.Range(0, agents).Select(i => new SimulatedGrpcAgent(channel, $"agent-{i:D4}")).ToList();
            var loops = simulated.Select(a => a.RunAsync(stop.Token)).ToList();
            var nodes = new NodeService.NodeServiceClient(channel);
            var tasks = new TaskService.TaskServiceClient(channel);
            await WaitAsync(async () => await ConnectedAsync(nodes) == agents, "every agent registers");
            var total = agents * tasksPerAgent;
            for (var placed = 0; placed < total; placed += 100)
            {
                var run = await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "bench", Count = Math.Min(100, total - placed) });
                if (run.Failures.Count > 0)
                {
                    throw new InvalidOperationException($"placement failed: {run.Failures[0].Detail}");
                }
            }

            await WaitAsync(async () => await InStepAsync(tasks) == total, "every task runs");
            foreach (var agent in simulated)
            {
                agent.ResetCounts();
            }

            var clock = Stopwatch.StartNew();
            daemon.KillHard();
            daemon.Dispose();
            daemon = DaemonProcess.StartScheduler(dbPath, port, settings);
            await daemon.RequireServingAsync(channel);
            var serving = clock.Elapsed;
            await WaitAsync(async () => await ConnectedAsync(nodes) == agents, "every agent registers again");
            var registered = clock.Elapsed;
            await WaitAsync(async () => await InStepAsync(tasks) == total, "every task is RUNNING with its status known");
            var inStep = clock.Elapsed;

            report.Add("recovery", $"scheduler kill -9 and restart, {agents} simulated agents over gRPC, {total:N0} running tasks",
                $"serving {serving.TotalSeconds:F1} s, all agents back {registered.TotalSeconds:F1} s, in step {inStep.TotalSeconds:F1} s",
                $"same process on an empty database serving in {baseline.TotalSeconds:F1} s; after the restart the agents were told to start {simulated.Sum(a => a.Starts)} tasks and stop {simulated.Sum(a => a.Stops)}");
        }
        finally
        {
            await stop.CancelAsync();
            daemon.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<TimeSpan> EmptyStartAsync(string directory)
    {
        var port = DaemonProcess.FreePort();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var clock = Stopwatch.StartNew();
        using var empty = DaemonProcess.StartScheduler(Path.Combine(directory, "empty.db"), port, "--Logging:LogLevel:Default=Warning");
        await empty.RequireServingAsync(channel);
        return clock.Elapsed;
    }

    private static async Task<int> ConnectedAsync(NodeService.NodeServiceClient nodes) =>
        (await nodes.ListNodesAsync(new ListNodesRequest { MaxResults = 1000 })).Nodes.Count(n => n.AgentConnected);

    /// <summary>Tasks that are RUNNING with their status known, read page by page.</summary>
    private static async Task<int> InStepAsync(TaskService.TaskServiceClient tasks)
    {
        var count = 0;
        var token = "";
        do
        {
            var page = await tasks.ListTasksAsync(new ListTasksRequest { MaxResults = 100, NextToken = token, IncludeAllStatuses = true });
            token = page.NextToken;
            if (page.TaskIds.Count > 0)
            {
                var described = await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { page.TaskIds } });
                count += described.Tasks.Count(t => t.LastStatus == TaskStatus.Running && !t.StatusUnknown);
            }
        }
        while (token.Length > 0);
        return count;
    }

    private static Task WaitAsync(Func<Task<bool>> condition, string what) =>
        Polling.UntilAsync(condition, what, TimeSpan.FromMinutes(3), intervalMilliseconds: 50);
}
