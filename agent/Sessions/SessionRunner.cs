using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Sessions;

/// <summary>
/// Runs the task sessions (logs, exec) the scheduler asks for on Connect, in the background so that
/// Connect's command loop never waits for one, at most <see cref="MaxSessions"/> at a time. Each one
/// opens AgentService/Session on a connection of its own and says hello; it ends with its work, when the
/// scheduler ends the call, or when Connect's session ends (its token), and all end when the agent stops.
/// </summary>
internal sealed partial class SessionRunner(ISessionChannel channel, IContainerRuntime runtime, AgentIdentity identity, ILogger<SessionRunner> log) : IAsyncDisposable
{
    public const int MaxSessions = 32;

    /// <summary>How long a finished session waits for the scheduler to end the call, after its last message.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<long, Task> _running = new();

    /// <summary>Each running session's own cancellation, by its id, for the scheduler's CloseSession.</summary>
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _byId = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _count;
    private long _keys;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Starts the session in the background; <paramref name="connection"/> ends when Connect's stream does.</summary>
    public void Open(OpenSession open, CancellationToken connection)
    {
        if (Interlocked.Increment(ref _count) > MaxSessions)
        {
            Interlocked.Decrement(ref _count);
            LogTooMany(log, open.SessionId, open.TaskId, MaxSessions);
            Track(RefuseAsync(open, connection));
            return;
        }

        Track(RunAsync(open, connection), counted: true);
    }

    /// <summary>
    /// The scheduler's CloseSession, from Connect: the session ends even while reading its own call is
    /// held up (an exec's input waiting on a process that does not read its stdin). Unknown ids are
    /// sessions that ended already.
    /// </summary>
    public void Close(string sessionId)
    {
        if (_byId.TryGetValue(sessionId, out var session))
        {
            try
            {
                session.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It ended meanwhile.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Not disposed: a late Open (the command loop ending at the same time) still finds it usable.
        await _stopping.CancelAsync();
        await Task.WhenAll(_running.Values);
    }

    private void Track(Task work, bool counted = false)
    {
        var key = Interlocked.Increment(ref _keys);
        _running[key] = work;
        _ = work.ContinueWith(
            _ =>
            {
                _running.TryRemove(key, out var _);
                if (counted)
                {
                    Interlocked.Decrement(ref _count);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Over the limit: the session is opened only to say why it cannot be served.</summary>
    private Task RefuseAsync(OpenSession open, CancellationToken connection) =>
        ServeAsync(open, connection, (_, _, _) => throw new SessionFailedException(
            StatusCode.ResourceExhausted, $"node {identity.NodeName} serves {MaxSessions} sessions (logs and exec) already; try again when one has ended"));

    private Task RunAsync(OpenSession open, CancellationToken connection) => open.KindCase switch
    {
        OpenSession.KindOneofCase.Logs => ServeAsync(open, connection, (call, _, token) => new LogSession(runtime, identity).RunAsync(open, call, token)),
        OpenSession.KindOneofCase.Exec => ServeAsync(open, connection, (call, input, token) => new CommandSession(runtime, identity, log).RunAsync(open, call, input, token)),
        _ => ServeAsync(open, connection, (_, _, _) => throw new SessionFailedException(StatusCode.InvalidArgument, "open_session: neither logs nor exec")),
    };

    private async Task ServeAsync(OpenSession open, CancellationToken connection, Func<ISessionCall, ChannelReader<ExecuteCommandRequest>, CancellationToken, Task> work)
    {
        // Yield first: the caller is Connect's command loop.
        await Task.Yield();
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(connection, _stopping.Token);
        using var session = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
        if (!_byId.TryAdd(open.SessionId, session))
        {
            // The same id twice (the scheduler never does it): the first one keeps it.
            LogCannotOpen(log, open.SessionId, "a session with this id runs already");
            return;
        }

        try
        {
            await ServeAsync(open, lifetime, session, work);
        }
        finally
        {
            _byId.TryRemove(new KeyValuePair<string, CancellationTokenSource>(open.SessionId, session));
        }
    }

    private async Task ServeAsync(OpenSession open, CancellationTokenSource lifetime, CancellationTokenSource session,
        Func<ISessionCall, ChannelReader<ExecuteCommandRequest>, CancellationToken, Task> work)
    {
        var input = Channel.CreateBounded<ExecuteCommandRequest>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        ISessionCall call;
        try
        {
            call = channel.Open(lifetime.Token);
        }
        catch (Exception e)
        {
            LogCannotOpen(log, open.SessionId, e.Message);
            return;
        }

        using (call)
        {
            Task reading = Task.CompletedTask;
            using var readingStop = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
            try
            {
                await call.ToScheduler.WriteAsync(new AgentSessionMessage { Hello = new SessionHello { SessionId = open.SessionId } }, session.Token);
                reading = ReadSchedulerAsync(call, input.Writer, open.KindCase == OpenSession.KindOneofCase.Exec, session, readingStop.Token);
                await work(call, input.Reader, session.Token);
                await call.ToScheduler.CompleteAsync();
            }
            catch (SessionFailedException e) when (!session.IsCancellationRequested)
            {
                LogFailed(log, open.SessionId, open.TaskId, e.Message);
                await FailAsync(call, e.Code, e.Message, session.Token);
            }
            catch (Exception) when (session.IsCancellationRequested)
            {
                // The scheduler ended the call, Connect's stream ended, or the agent stops.
                LogEnded(log, open.SessionId, open.TaskId);
            }
            catch (RuntimeUnavailableException e)
            {
                LogFailed(log, open.SessionId, open.TaskId, e.Message);
                await FailAsync(call, StatusCode.Unavailable, $"Docker on node {identity.NodeName} failed: {e.Message}", session.Token);
            }
            catch (RpcException e)
            {
                // The call itself broke: there is no one to tell.
                LogFailed(log, open.SessionId, open.TaskId, e.Status.Detail);
            }
            catch (Exception e)
            {
                LogFailed(log, open.SessionId, open.TaskId, e.Message);
                await FailAsync(call, StatusCode.Internal, $"the {Kind(open)} session of task {open.TaskId} failed on node {identity.NodeName}: {e.Message}", session.Token);
            }
            finally
            {
                // Our side is done: give the scheduler a moment to end the call, so the last messages
                // are not cut off by a reset of the stream; unless it is over already (the scheduler ended
                // or closed it, Connect's stream ended, the agent stops): then there is nothing to wait for.
                if (session.IsCancellationRequested)
                {
                    await readingStop.CancelAsync();
                }
                else
                {
                    readingStop.CancelAfter(CloseWait);
                }

                await reading;
            }
        }
    }

    /// <summary>
    /// Reads the scheduler's side: exec input to the process's pump. When it ends or breaks, the
    /// scheduler has ended the call: the session ends (the logs stop being read, the process is killed).
    /// </summary>
    private static async Task ReadSchedulerAsync(ISessionCall call, ChannelWriter<ExecuteCommandRequest> input, bool forward, CancellationTokenSource session, CancellationToken stop)
    {
        try
        {
            while (await call.FromScheduler.MoveNext(stop))
            {
                // Only an exec takes input; anything sent to a log session is dropped, so that the
                // bounded input never fills and the end of the call is always seen.
                if (forward && call.FromScheduler.Current.Exec is { } request)
                {
                    await input.WriteAsync(request, stop);
                }
            }
        }
        catch (Exception)
        {
            // Cancelled, or the call broke: either way it is over.
        }
        finally
        {
            input.TryComplete();
            await session.CancelAsync();
        }
    }

    private static async Task FailAsync(ISessionCall call, StatusCode code, string message, CancellationToken cancellation)
    {
        try
        {
            await call.ToScheduler.WriteAsync(new AgentSessionMessage { Failed = new SessionFailed { StatusCode = (int)code, Message = message } }, cancellation);
            await call.ToScheduler.CompleteAsync();
        }
        catch (Exception)
        {
            // The call is gone already: the scheduler has nobody to tell.
        }
    }

    private static string Kind(OpenSession open) => open.KindCase == OpenSession.KindOneofCase.Exec ? "exec" : "logs";

    [LoggerMessage(1, LogLevel.Warning, "Session {Session} of task {Task} refused: this node serves {Max} sessions already")]
    private static partial void LogTooMany(ILogger logger, string session, string task, int max);

    [LoggerMessage(2, LogLevel.Warning, "Cannot open session {Session} to the scheduler: {Problem}")]
    private static partial void LogCannotOpen(ILogger logger, string session, string problem);

    [LoggerMessage(3, LogLevel.Information, "Session {Session} of task {Task} failed: {Problem}")]
    private static partial void LogFailed(ILogger logger, string session, string task, string problem);

    [LoggerMessage(4, LogLevel.Debug, "Session {Session} of task {Task} ended before its work")]
    private static partial void LogEnded(ILogger logger, string session, string task);
}
