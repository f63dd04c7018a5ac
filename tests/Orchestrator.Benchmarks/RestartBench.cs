using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
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
            await RequireServingAsync(daemon, channel);
            var baseline = await EmptyStartAsync(directory);

            await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "bench",
                ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 64, Memory = 128 } },
            });
            var simulated = Enumerable.Range(0, agents).Select(i => new ReconnectingAgent(channel, $"agent-{i:D4}")).ToList();
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
            await RequireServingAsync(daemon, channel);
            var serving = clock.Elapsed;
            await WaitAsync(async () => await ConnectedAsync(nodes) == agents, "every agent registers again");
            var registered = clock.Elapsed;
            await WaitAsync(async () => await InStepAsync(tasks) == total, "every task is RUNNING with its status known");
            var inStep = clock.Elapsed;

            report.Add("recovery", $"scheduler kill -9 and restart, {agents} simulated agents over gRPC, {total:N0} running tasks",
                $"serving {serving.TotalSeconds:F1} s, all agents back {registered.TotalSeconds:F1} s, in step {inStep.TotalSeconds:F1} s",
                $"same process on an empty database serving in {baseline.TotalSeconds:F1} s; after the restart the agents were told to start {simulated.Sum(a => a.StartsAfterReset)} tasks and stop {simulated.Sum(a => a.StopsAfterReset)}");
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
        await RequireServingAsync(empty, channel);
        return clock.Elapsed;
    }

    private static async Task RequireServingAsync(DaemonProcess daemon, GrpcChannel channel)
    {
        if (!await daemon.WaitUntilServingAsync(channel))
        {
            throw new InvalidOperationException("the scheduler did not start: " + string.Join("\n", daemon.StandardError));
        }
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
            var page = await tasks.ListTasksAsync(new ListTasksRequest { MaxResults = 100, NextToken = token });
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

    /// <summary>
    /// An agent as the real one behaves on the wire: registers with what it runs, starts what it is
    /// told (a start for a task it runs is nothing to do), stops what it is told, sends heartbeats, and
    /// reconnects with the real agent's jittered backoff (0.5 s doubling up to 5 s) when the stream breaks.
    /// </summary>
    private sealed class ReconnectingAgent(GrpcChannel channel, string name)
    {
        private readonly ConcurrentDictionary<string, bool> _running = new();
        private int _starts;
        private int _stops;
        private bool _registered;

        public int StartsAfterReset => Volatile.Read(ref _starts);
        public int StopsAfterReset => Volatile.Read(ref _stops);

        public void ResetCounts()
        {
            Volatile.Write(ref _starts, 0);
            Volatile.Write(ref _stops, 0);
        }

        public async Task RunAsync(CancellationToken stop)
        {
            var ceiling = TimeSpan.FromMilliseconds(500);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await SessionAsync(stop);
                }
                catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or OperationCanceledException)
                {
                    // The stream broke: back off and register again.
                }

                try
                {
                    await Task.Delay(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)), stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                // As the real agent: a session that registered starts the backoff over.
                ceiling = _registered ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromTicks(Math.Min(ceiling.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                _registered = false;
            }
        }

        private async Task SessionAsync(CancellationToken stop)
        {
            using var call = new AgentService.AgentServiceClient(channel).Connect(cancellationToken: stop);
            var register = new RegisterNode { NodeName = name, Resources = new Resources { Cpu = 16 * 1024, Memory = 64 * 1024 }, AgentVersion = "bench" };
            register.Tasks.AddRange(_running.Keys.Select(id => new TaskStateReport { TaskId = id, LastStatus = TaskStatus.Running }));
            var writes = new SemaphoreSlim(1);
            async Task SendAsync(AgentMessage message)
            {
                await writes.WaitAsync(stop);
                try
                {
                    await call.RequestStream.WriteAsync(message, stop);
                }
                finally
                {
                    writes.Release();
                }
            }

            await SendAsync(new AgentMessage { Register = register });
            ulong sequence = 0;
            using var session = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var heartbeats = Task.Run(async () =>
            {
                ulong beat = 0;
                while (!session.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), session.Token);
                    await SendAsync(new AgentMessage { Heartbeat = new Heartbeat { Sequence = ++beat } });
                }
            }, session.Token);
            try
            {
                await foreach (var message in call.ResponseStream.ReadAllAsync(stop))
                {
                    switch (message.BodyCase)
                    {
                        case SchedulerMessage.BodyOneofCase.Registered:
                            _registered = true;
                            foreach (var start in message.Registered.StartTasks)
                            {
                                await StartAsync(start.TaskId);
                            }

                            foreach (var stopTask in message.Registered.StopTasks)
                            {
                                await StopAsync(stopTask.TaskId);
                            }

                            break;
                        case SchedulerMessage.BodyOneofCase.StartTask:
                            await StartAsync(message.StartTask.TaskId);
                            break;
                        case SchedulerMessage.BodyOneofCase.StopTask:
                            await StopAsync(message.StopTask.TaskId);
                            break;
                    }
                }
            }
            finally
            {
                await session.CancelAsync();
                await Task.WhenAny(heartbeats);
            }

            async Task StartAsync(string taskId)
            {
                if (_running.TryAdd(taskId, true))
                {
                    Interlocked.Increment(ref _starts);
                    await SendAsync(new AgentMessage { TaskState = new TaskStateReport { Sequence = ++sequence, TaskId = taskId, LastStatus = TaskStatus.Running } });
                }
            }

            async Task StopAsync(string taskId)
            {
                if (_running.TryRemove(taskId, out _))
                {
                    Interlocked.Increment(ref _stops);
                }

                await SendAsync(new AgentMessage { TaskState = new TaskStateReport { Sequence = ++sequence, TaskId = taskId, LastStatus = TaskStatus.Stopped, StopCode = StopCode.UserInitiated } });
            }
        }
    }
}
