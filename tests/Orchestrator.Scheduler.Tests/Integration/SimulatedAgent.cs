using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// An agent that speaks the real protocol over a real Connect stream but runs nothing: tests read the
/// commands it receives and make it report whatever task states they need.
/// </summary>
internal sealed class SimulatedAgent : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly AsyncDuplexStreamingCall<AgentMessage, SchedulerMessage> _call;
    private readonly Channel<SchedulerMessage> _received = Channel.CreateUnbounded<SchedulerMessage>();

    /// <summary>The ids of CloseSession messages, kept apart from the commands (they follow every session).</summary>
    private readonly Channel<string> _closedSessions = Channel.CreateUnbounded<string>();
    private readonly Task _reader;
    private ulong _sequence;
    private Task? _automatic;
    private readonly SemaphoreSlim _writing = new(1, 1);

    // Running automatically: the messages sent whose acknowledgement has not come yet, by sequence,
    // and how many commands have been answered.
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource> _unacknowledged = new();
    private int _answered;

    private readonly AgentService.AgentServiceClient _client;

    private SimulatedAgent(AgentService.AgentServiceClient client, AsyncDuplexStreamingCall<AgentMessage, SchedulerMessage> call, Registered registered)
    {
        _client = client;
        _call = call;
        Registered = registered;
        _reader = Task.Run(ReadAll);
    }

    public Registered Registered { get; }

    /// <summary>How the stream ended, once it has: OK, or the status the scheduler closed it with.</summary>
    public Status? EndStatus { get; private set; }

    public static async Task<SimulatedAgent> ConnectAsync(
        AgentService.AgentServiceClient client,
        string node,
        string cluster = "default",
        int cpu = 4096,
        int memory = 8192,
        IDictionary<string, string>? attributes = null,
        IEnumerable<TaskStateReport>? running = null,
        bool rejoin = false,
        IEnumerable<Tag>? tags = null,
        NodePolicy? policy = null)
    {
        var (call, first) = await RegisterAsync(client, node, cluster, cpu, memory, attributes, running, rejoin, tags, policy);
        if (first.BodyCase != SchedulerMessage.BodyOneofCase.Registered)
        {
            call.Dispose();
            throw new InvalidOperationException($"expected Registered first, got {first.BodyCase}");
        }

        return new SimulatedAgent(client, call, first.Registered);
    }

    /// <summary>
    /// Registers as an agent whose node was deregistered would (without rejoin): returns the scheduler's
    /// first answer and how the stream ended after it.
    /// </summary>
    public static async Task<(SchedulerMessage First, bool Ended, Status Status)> RegisterRefusedAsync(
        AgentService.AgentServiceClient client, string node, IEnumerable<TaskStateReport>? running = null)
    {
        var (call, first) = await RegisterAsync(client, node, "default", 4096, 8192, null, running, rejoin: false, tags: null);
        using (call)
        {
            using var timeout = new CancellationTokenSource(Patience);
            var more = await call.ResponseStream.MoveNext(timeout.Token);
            return (first, !more, call.GetStatus());
        }
    }

    private static async Task<(AsyncDuplexStreamingCall<AgentMessage, SchedulerMessage> Call, SchedulerMessage First)> RegisterAsync(
        AgentService.AgentServiceClient client, string node, string cluster, int cpu, int memory,
        IDictionary<string, string>? attributes, IEnumerable<TaskStateReport>? running, bool rejoin, IEnumerable<Tag>? tags, NodePolicy? policy = null)
    {
        var call = client.Connect();
        var register = new RegisterNode
        {
            Cluster = cluster,
            NodeName = node,
            Resources = new Resources { Cpu = cpu, Memory = memory },
            AgentVersion = "simulated-1.0",
            Rejoin = rejoin,
            Policy = policy,
        };
        register.Attributes.Add(attributes ?? new Dictionary<string, string>());
        register.Tasks.AddRange(running ?? []);
        register.Tags.AddRange(tags ?? []);
        await call.RequestStream.WriteAsync(new AgentMessage { Register = register });
        using var timeout = new CancellationTokenSource(Patience);
        if (!await call.ResponseStream.MoveNext(timeout.Token))
        {
            call.Dispose();
            throw new InvalidOperationException("the scheduler closed the stream without answering the registration");
        }

        return (call, call.ResponseStream.Current);
    }

    /// <summary>The next command (start, stop or deregistered), skipping acknowledgements.</summary>
    public async Task<SchedulerMessage> NextCommandAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var message = await _received.Reader.ReadAsync(timeout.Token);
            if (message.BodyCase is not (SchedulerMessage.BodyOneofCase.ReportAck or SchedulerMessage.BodyOneofCase.HeartbeatAck))
            {
                return message;
            }
        }
    }

    /// <summary>The id of the next session the scheduler said over Connect is over (CloseSession).</summary>
    public async Task<string> NextClosedSessionAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await _closedSessions.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>The next command, which must be OpenSession (a client asked for a task's logs or an exec).</summary>
    public async Task<OpenSession> NextOpenSessionAsync()
    {
        var command = await NextCommandAsync();
        return command.BodyCase == SchedulerMessage.BodyOneofCase.OpenSession
            ? command.OpenSession
            : throw new InvalidOperationException($"expected OpenSession, got {command.BodyCase}");
    }

    /// <summary>
    /// Opens AgentService/Session as the real agent does when asked (on a call of its own) and says hello
    /// with <paramref name="sessionId"/>. The call goes with this agent's credentials unless
    /// <paramref name="asClient"/> gives others (another node's certificate, say).
    /// </summary>
    public async Task<SimulatedSession> OpenSessionAsync(string sessionId, AgentService.AgentServiceClient? asClient = null)
    {
        var call = (asClient ?? _client).Session();
        await call.RequestStream.WriteAsync(new AgentSessionMessage { Hello = new SessionHello { SessionId = sessionId } });
        return new SimulatedSession(call);
    }

    /// <summary>Answers the next OpenSession by opening the session it asks for.</summary>
    public async Task<(OpenSession Open, SimulatedSession Session)> AcceptSessionAsync()
    {
        var open = await NextOpenSessionAsync();
        return (open, await OpenSessionAsync(open.SessionId));
    }

    /// <summary>Whatever arrived so far, without waiting.</summary>
    public List<SchedulerMessage> Drain()
    {
        var messages = new List<SchedulerMessage>();
        while (_received.Reader.TryRead(out var message))
        {
            messages.Add(message);
        }

        return messages;
    }

    /// <summary>Sends a report and waits until the scheduler acknowledges it.</summary>
    public async Task<List<SchedulerMessage>> ReportAsync(string taskId, TaskStatus status, int? exitCode = null, StopCode stopCode = StopCode.Unspecified, string reason = "", HealthStatus health = HealthStatus.Unknown, int restartCount = 0)
    {
        var report = Report(taskId, status, exitCode, stopCode, reason, health, restartCount);
        report.Sequence = ++_sequence;
        await _call.RequestStream.WriteAsync(new AgentMessage { TaskState = report });
        var before = new List<SchedulerMessage>();
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var message = await _received.Reader.ReadAsync(timeout.Token);
            if (message.BodyCase == SchedulerMessage.BodyOneofCase.ReportAck && message.ReportAck.Sequence == report.Sequence)
            {
                return before;
            }

            before.Add(message);
        }
    }

    /// <summary>
    /// Sends a heartbeat and waits until the scheduler acknowledges it; returns what arrived before the
    /// acknowledgement, which is everything the scheduler sent before it read the heartbeat.
    /// </summary>
    public async Task<List<SchedulerMessage>> HeartbeatAsync()
    {
        var sequence = ++_sequence;
        await _call.RequestStream.WriteAsync(new AgentMessage { Heartbeat = new Heartbeat { Sequence = sequence } });
        var before = new List<SchedulerMessage>();
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var message = await _received.Reader.ReadAsync(timeout.Token);
            if (message.BodyCase == SchedulerMessage.BodyOneofCase.HeartbeatAck && message.HeartbeatAck.Sequence == sequence)
            {
                return before;
            }

            before.Add(message);
        }
    }

    public static TaskStateReport Report(string taskId, TaskStatus status, int? exitCode = null, StopCode stopCode = StopCode.Unspecified, string reason = "", HealthStatus health = HealthStatus.Unknown, int restartCount = 0)
    {
        var container = new ContainerState { Name = "app", RuntimeId = $"docker-{taskId[..8]}", LastStatus = status, HealthStatus = health, RestartCount = restartCount };
        if (exitCode is { } code)
        {
            container.ExitCode = code;
        }

        return new TaskStateReport { TaskId = taskId, LastStatus = status, StopCode = stopCode, StoppedReason = reason, Containers = { container } };
    }

    /// <summary>
    /// From now on the agent answers by itself: every start command with RUNNING, every stop command
    /// with STOPPED (exit code 143). Use instead of NextCommandAsync and ReportAsync, not with them.
    /// </summary>
    /// <param name="failToStart">Start commands for which to report TaskFailedToStart instead.</param>
    public void RunAutomatically(Func<StartTaskCommand, bool>? failToStart = null)
    {
        _automatic = Task.Run(async () =>
        {
            await foreach (var message in _received.Reader.ReadAllAsync())
            {
                if (message.BodyCase is SchedulerMessage.BodyOneofCase.ReportAck or SchedulerMessage.BodyOneofCase.HeartbeatAck
                    && _unacknowledged.TryRemove(message.BodyCase == SchedulerMessage.BodyOneofCase.ReportAck ? message.ReportAck.Sequence : message.HeartbeatAck.Sequence, out var acknowledged))
                {
                    acknowledged.TrySetResult();
                    continue;
                }

                var report = message.BodyCase switch
                {
                    SchedulerMessage.BodyOneofCase.StartTask when failToStart?.Invoke(message.StartTask) == true =>
                        Report(message.StartTask.TaskId, TaskStatus.Stopped, stopCode: StopCode.TaskFailedToStart, reason: "CannotPullContainerError: no such image"),
                    SchedulerMessage.BodyOneofCase.StartTask => Report(message.StartTask.TaskId, TaskStatus.Running),
                    SchedulerMessage.BodyOneofCase.StopTask => Report(message.StopTask.TaskId, TaskStatus.Stopped, exitCode: 143),
                    _ => null,
                };
                if (report is not null)
                {
                    await WriteAsync(() => new AgentMessage { TaskState = Numbered(report) });
                    Interlocked.Increment(ref _answered);
                }
            }
        });
    }

    /// <summary>A heartbeat without waiting for its acknowledgement; safe beside RunAutomatically.</summary>
    public Task BeatAsync() => WriteAsync(() => new AgentMessage { Heartbeat = new Heartbeat { Sequence = ++_sequence } });

    /// <summary>
    /// For an agent running automatically: returns once it has answered every command the scheduler sent
    /// it so far and the scheduler has applied every answer, without sleeping. It goes by round trips,
    /// each a heartbeat: the scheduler sends on one ordered stream, so every command sent before the
    /// heartbeat's acknowledgement reaches the agent, and is answered, before it; a report is
    /// acknowledged once applied. Round trips go on until one brings no command (applying an answer may
    /// send one). The heartbeats keep the node alive too.
    /// </summary>
    public async Task SettleAsync()
    {
        if (_automatic is null)
        {
            throw new InvalidOperationException("SettleAsync is for an agent that runs automatically");
        }

        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var answered = Volatile.Read(ref _answered);
            var heartbeat = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await WriteAsync(() =>
            {
                var sequence = ++_sequence;
                _unacknowledged[sequence] = heartbeat;
                return new AgentMessage { Heartbeat = new Heartbeat { Sequence = sequence } };
            });
            await heartbeat.Task.WaitAsync(timeout.Token);
            await Task.WhenAll(_unacknowledged.Values.Select(pending => pending.Task)).WaitAsync(timeout.Token);
            if (Volatile.Read(ref _answered) == answered)
            {
                return;
            }
        }
    }

    /// <summary>Numbers a report of the automatic answers and records it as awaiting its acknowledgement (see SettleAsync).</summary>
    private TaskStateReport Numbered(TaskStateReport report)
    {
        report.Sequence = ++_sequence;
        _unacknowledged[report.Sequence] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return report;
    }

    /// <summary>One writer at a time on the request stream, as gRPC requires.</summary>
    private async Task WriteAsync(Func<AgentMessage> message)
    {
        await _writing.WaitAsync();
        try
        {
            await _call.RequestStream.WriteAsync(message());
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Waits until the scheduler ends the stream.</summary>
    public async Task WaitForEndAsync()
    {
        await _reader.WaitAsync(Patience);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (InvalidOperationException)
        {
            // Already complete.
        }
        catch (RpcException)
        {
            // The call has ended.
        }

        try
        {
            await _reader.WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            // The scheduler did not end the call; dispose cancels it.
        }

        _call.Dispose();
    }

    private async Task ReadAll()
    {
        try
        {
            await foreach (var message in _call.ResponseStream.ReadAllAsync())
            {
                if (message.BodyCase == SchedulerMessage.BodyOneofCase.CloseSession)
                {
                    await _closedSessions.Writer.WriteAsync(message.CloseSession.SessionId);
                    continue;
                }

                await _received.Writer.WriteAsync(message);
            }

            EndStatus = Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            EndStatus = e.Status;
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }
}
