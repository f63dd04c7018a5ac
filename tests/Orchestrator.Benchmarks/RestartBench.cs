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
        var scheduler = new BenchScheduler(directory, secure: true);
        using var stop = new CancellationTokenSource();
        try
        {
            var channel = scheduler.Channel;
            await scheduler.ServingAsync();
            var baseline = await EmptyStartAsync(Directory.CreateTempSubdirectory("orchestrator-bench-empty-").FullName);

            await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "bench",
                ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 64, Memory = 128 } },
            });
            var simulated = await scheduler.SimulatedAgentsAsync(agents);

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
            scheduler.KillAndStartAgain();
            await scheduler.ServingAsync();
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
            scheduler.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A first start in an empty directory: it makes its CA, tokens and database, then serves.</summary>
    private static async Task<TimeSpan> EmptyStartAsync(string directory)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var empty = new BenchScheduler(directory, secure: true);
            await empty.ServingAsync();
            return clock.Elapsed;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    internal static async Task<int> ConnectedAsync(NodeService.NodeServiceClient nodes) =>
        (await nodes.ListNodesAsync(new ListNodesRequest { MaxResults = 1000 })).Nodes.Count(n => n.AgentConnected);

    /// <summary>Tasks that are RUNNING with their status known, read page by page.</summary>
    internal static async Task<int> InStepAsync(TaskService.TaskServiceClient tasks)
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

    internal static Task WaitAsync(Func<Task<bool>> condition, string what) =>
        Polling.UntilAsync(condition, what, TimeSpan.FromMinutes(3), intervalMilliseconds: 50);
}
