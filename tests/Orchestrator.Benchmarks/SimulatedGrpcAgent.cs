using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// An agent as the real one behaves on the wire: registers with what it runs, starts what it is
/// told (a start for a task it runs is nothing to do), stops what it is told, sends heartbeats, and
/// reconnects with the real agent's jittered backoff (0.5 s doubling up to 5 s) when the stream breaks.
/// </summary>
internal sealed class SimulatedGrpcAgent(GrpcChannel channel, string name)
{
    private readonly ConcurrentDictionary<string, bool> _running = new();
    private int _starts;
    private int _stops;
    private bool _registered;

    /// <summary>Tasks it was told to start (and did not run already) since the last <see cref="ResetCounts"/>.</summary>
    public int Starts => Volatile.Read(ref _starts);

    /// <summary>Tasks it was told to stop, and ran, since the last <see cref="ResetCounts"/>.</summary>
    public int Stops => Volatile.Read(ref _stops);

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
