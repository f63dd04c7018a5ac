using System.Diagnostics;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>
/// A graceful stop (SIGTERM, as systemctl stop sends it) of the scheduler with hundreds of agents and
/// watchers connected: the time from the signal until the process has exited, which the systemd unit's
/// TimeoutStopSec is set from. Baseline in the same run: the same process stopped with nothing
/// connected. Then it is started again on the same database and the agents must come back without a
/// task started or stopped again. Last, a real agent process on Docker stopped the same way, with
/// running tasks that must still run afterwards.
/// </summary>
internal static class StopBench
{
    private const string Image = "orchestrator-test/busybox:latest";
    private const string Reconnect = "the scheduler is stopping; reconnect";

    public static async Task RunAsync(Report report, int agents, int watchers, int tasksPerAgent)
    {
        var baseline = await IdleStopAsync();
        await LoadedStopAsync(report, agents, watchers, tasksPerAgent, baseline);
        await AgentStopAsync(report, tasks: 5);
    }

    private static async Task<TimeSpan> IdleStopAsync()
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-bench-idle-").FullName;
        try
        {
            using var scheduler = new BenchScheduler(directory, secure: true);
            await scheduler.ServingAsync();
            var (elapsed, code) = await TerminateAsync(scheduler.Process);
            return code == 0 ? elapsed : throw new InvalidOperationException($"the idle scheduler exited with {code}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task LoadedStopAsync(Report report, int agents, int watchers, int tasksPerAgent, TimeSpan baseline)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-bench-").FullName;
        var scheduler = new BenchScheduler(directory, secure: true);
        using var stop = new CancellationTokenSource();
        try
        {
            var channel = scheduler.Channel;
            await scheduler.ServingAsync();
            await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "bench",
                ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 64, Memory = 128 } },
            });
            var simulated = await scheduler.SimulatedAgentsAsync(agents);

            var loops = simulated.Select(a => a.RunAsync(stop.Token)).ToList();
            var nodes = new NodeService.NodeServiceClient(channel);
            var tasks = new TaskService.TaskServiceClient(channel);
            await RestartBench.WaitAsync(async () => await RestartBench.ConnectedAsync(nodes) == agents, "every agent registers");
            var total = agents * tasksPerAgent;
            for (var placed = 0; placed < total; placed += 100)
            {
                var run = await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "bench", Count = Math.Min(100, total - placed) });
                if (run.Failures.Count > 0)
                {
                    throw new InvalidOperationException($"placement failed: {run.Failures[0].Detail}");
                }
            }

            await RestartBench.WaitAsync(async () => await RestartBench.InStepAsync(tasks) == total, "every task runs");

            // Each watcher has read its first event, so its stream is open on the scheduler's side.
            var watches = new List<Task<Status>>();
            for (var i = 0; i < watchers; i++)
            {
                var call = tasks.WatchTasks(new WatchTasksRequest { IncludeExisting = true });
                if (!await call.ResponseStream.MoveNext(stop.Token))
                {
                    throw new InvalidOperationException("a watch ended before its first event");
                }

                watches.Add(DrainAsync(call));
            }

            foreach (var agent in simulated)
            {
                agent.ResetCounts();
            }

            var (stopped, code) = await TerminateAsync(scheduler.Process);
            var ended = await Task.WhenAll(watches).WaitAsync(TimeSpan.FromSeconds(30));
            var told = ended.Count(s => s.StatusCode == StatusCode.Unavailable && s.Detail == Reconnect);
            var others = string.Join("; ", ended.Where(s => !(s.StatusCode == StatusCode.Unavailable && s.Detail == Reconnect))
                .GroupBy(s => $"{s.StatusCode} \"{s.Detail}\"").Select(g => $"{g.Count()} {g.Key}"));

            var clock = Stopwatch.StartNew();
            scheduler.StartAgain();
            await scheduler.ServingAsync();
            var serving = clock.Elapsed;
            await RestartBench.WaitAsync(async () => await RestartBench.ConnectedAsync(nodes) == agents, "every agent registers again");
            var back = clock.Elapsed;
            await RestartBench.WaitAsync(async () => await RestartBench.InStepAsync(tasks) == total, "every task is RUNNING with its status known");
            var inStep = clock.Elapsed;

            report.Add("stop", $"scheduler SIGTERM → exited, {agents} agents on mutual TLS, {watchers} WatchTasks streams, {total:N0} running tasks",
                $"{stopped.TotalSeconds:F2} s, exit code {code}",
                $"the same process with nothing connected: {baseline.TotalSeconds:F2} s; watches ended UNAVAILABLE \"{Reconnect}\": {told} of {watchers}{(others.Length > 0 ? $" (others: {others})" : "")}");
            report.Add("stop", "then started again on the same database: serving / every agent back / in step",
                $"{serving.TotalSeconds:F1} s / {back.TotalSeconds:F1} s / {inStep.TotalSeconds:F1} s",
                $"tasks the agents were told to start or stop after the restart: {simulated.Sum(a => a.Starts)} and {simulated.Sum(a => a.Stops)}");
        }
        finally
        {
            await stop.CancelAsync();
            scheduler.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A real agent process on Docker with running tasks: SIGTERM → exited, and its containers still run.</summary>
    private static async Task AgentStopAsync(Report report, int tasks)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-agent-stop-").FullName;
        var node = $"stop-{Guid.NewGuid():N}"[..13];
        using var scheduler = new BenchScheduler(directory, secure: true);
        try
        {
            await scheduler.ServingAsync();
            var nodes = new NodeService.NodeServiceClient(scheduler.Channel);
            await new TaskDefinitionService.TaskDefinitionServiceClient(scheduler.Channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "sleeper",
                ContainerDefinitions = { new ContainerDefinition { Name = "main", Image = Image, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 1 } },
            });
            using var agent = DaemonProcess.Start("orchestrator-agent.dll",
            [
                .. scheduler.AgentArguments(node, Path.Combine(directory, "agent")), "--Agent:HostIp=127.0.0.1",
                "--Agent:CpuOverride=200000", "--Agent:MemoryOverride=200000", "--Logging:LogLevel:Default=Warning",
            ]);
            await RestartBench.WaitAsync(async () => await RestartBench.ConnectedAsync(nodes) == 1, "the agent registers");
            var client = new TaskService.TaskServiceClient(scheduler.Channel);
            await client.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", Count = tasks });
            await RestartBench.WaitAsync(async () => await RestartBench.InStepAsync(client) == tasks, "every task runs");

            var (stopped, code) = await TerminateAsync(agent);
            var running = Running(node);
            report.Add("stop", $"agent SIGTERM → exited, stream open, {tasks} running tasks on Docker", $"{stopped.TotalSeconds:F2} s, exit code {code}",
                $"containers still running afterwards: {running} of {tasks}");
        }
        finally
        {
            var (_, ids) = DockerCli.Run("ps", "-aq", "--filter", $"label=orchestrator.node={node}");
            foreach (var id in ids.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                DockerCli.Run("rm", "-f", id.Trim());
            }

            scheduler.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>SIGTERM, then the time until the process is gone and its exit code.</summary>
    private static async Task<(TimeSpan Elapsed, int Code)> TerminateAsync(DaemonProcess process)
    {
        var clock = Stopwatch.StartNew();
        process.Terminate();
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(120));
        return (clock.Elapsed, code);
    }

    /// <summary>Reads a watch to its end; the status it ended with (OK when it just ended).</summary>
    private static async Task<Status> DrainAsync(AsyncServerStreamingCall<TaskEvent> call)
    {
        using (call)
        {
            try
            {
                while (await call.ResponseStream.MoveNext())
                {
                }

                return call.GetStatus();
            }
            catch (RpcException e)
            {
                return e.Status;
            }
        }
    }

    private static int Running(string node)
    {
        var (_, ids) = DockerCli.Run("ps", "-q", "--filter", $"label=orchestrator.node={node}", "--filter", "status=running");
        return ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }
}
