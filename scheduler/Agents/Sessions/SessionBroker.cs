using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Telemetry;

namespace Orchestrator.Scheduler.Agents.Sessions;

/// <summary>
/// Brings a client's logs or exec call and the agent's Session call together. The client's handler
/// asks the node's agent (OpenSession on its Connect stream) and waits, boundedly, for the agent to
/// call back with hello; the agent's handler finds the session by its id, checks that the caller is
/// the node it was asked of, and hands its streams over. The session runs over the agent's own call,
/// not over Connect, so a slow client holds back only its own session (HTTP/2 flow control), never
/// the reports and commands of the node.
/// </summary>
internal sealed partial class SessionBroker
{
    /// <summary>How long the agent has to open the session after it was asked.</summary>
    public static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, TaskSession> _waiting = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly SchedulerStopping _stopping;
    private readonly ILogger<SessionBroker> _log;
    private int _openLogs;
    private int _openExec;

    public SessionBroker(TimeProvider time, SchedulerStopping stopping, SchedulerMeter meter, ILogger<SessionBroker> log)
    {
        _time = time;
        _stopping = stopping;
        _log = log;
        meter.Meter.CreateObservableGauge("task_sessions", Open, "{session}", "Open task sessions (logs and exec through the nodes' agents), by kind.");
    }

    /// <summary>
    /// Asks the agent of the task's node for a session and waits until it has joined. Throws UNAVAILABLE
    /// when the node's agent goes, does not join within <see cref="OpenTimeout"/>, or the scheduler stops;
    /// OperationCanceledException when the client goes. The caller disposes the session it gets.
    /// </summary>
    public async Task<(TaskSession Session, AgentEnd Agent)> OpenAsync(
        SessionKind kind, TaskRecord task, string container, IAgentSession nodeStream, OpenSession command, CancellationToken clientGone)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var session = new TaskSession(this, id, kind, task.Cluster, task.Node, task.Id, container, nodeStream);
        _waiting[id] = session;
        Interlocked.Increment(ref kind == SessionKind.Logs ? ref _openLogs : ref _openExec);
        try
        {
            // The timer starts before the agent is asked, so no answer can come before it is counted.
            using var timeout = new CancellationTokenSource(OpenTimeout, _time);
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(clientGone, timeout.Token, nodeStream.Closed, _stopping.Token);
            command.SessionId = id;
            command.TaskId = task.Id;
            command.Container = container;
            if (!nodeStream.TrySend(new SchedulerMessage { OpenSession = command }))
            {
                throw NodeDisconnected(task.Node);
            }

            try
            {
                return (session, await session.Attached.WaitAsync(waiting.Token));
            }
            catch (OperationCanceledException)
            {
                if (!session.TryGiveUp())
                {
                    // The agent joined just as the wait ended: the session is open after all.
                    return (session, await session.Attached);
                }

                if (clientGone.IsCancellationRequested)
                {
                    throw;
                }

                throw _stopping.IsStopping ? SchedulerStopping.Unavailable()
                    : nodeStream.Closed.IsCancellationRequested ? NodeDisconnected(task.Node)
                    : new RpcException(new Status(StatusCode.Unavailable,
                        $"node {task.Node}'s agent did not open the session within {OpenTimeout.TotalSeconds:0} s"));
            }
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The agent's hello: joins the session it names. NOT_FOUND for an id that names no waiting session
    /// (unknown, given up, or joined already); PERMISSION_DENIED for a node other than the one asked.
    /// </summary>
    /// <param name="caller">The calling node as its certificate names it; null for a Scheduler:Insecure
    /// scheduler, where agents have no identity and the id, told only to the node's stream, is the check.</param>
    public TaskSession Join(string id, AgentIdentity? caller, AgentEnd agent)
    {
        if (!_waiting.TryGetValue(id, out var session))
        {
            throw new RpcException(new Status(StatusCode.NotFound,
                $"hello.sessionId: no session \"{Echo.Clip(id)}\" is waiting to be opened (unknown, opened already, or given up: the agent has {OpenTimeout.TotalSeconds:0} s)"));
        }

        if (caller is not null && (caller.Cluster != session.Cluster || caller.Node != session.Node))
        {
            LogJoinRefused(_log, session.Id, caller.Cluster, caller.Node, session.Cluster, session.Node);
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"hello.sessionId: the session was asked of node \"{session.Node}\" of cluster \"{session.Cluster}\", not of this agent's node \"{caller.Node}\" of \"{caller.Cluster}\""));
        }

        if (!_waiting.TryRemove(new KeyValuePair<string, TaskSession>(id, session)) || !session.TryAttach(agent))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"hello.sessionId: session \"{Echo.Clip(id)}\" was opened already, or given up"));
        }

        return session;
    }

    /// <summary>Called once by each session as it ends.</summary>
    internal void Forget(TaskSession session)
    {
        _waiting.TryRemove(new KeyValuePair<string, TaskSession>(session.Id, session));
        Interlocked.Decrement(ref session.Kind == SessionKind.Logs ? ref _openLogs : ref _openExec);
    }

    public static RpcException NodeDisconnected(string node) => new(new Status(StatusCode.Unavailable, $"node {node} disconnected"));

    private IEnumerable<Measurement<int>> Open() =>
    [
        new(Volatile.Read(ref _openLogs), new KeyValuePair<string, object?>("kind", "logs")),
        new(Volatile.Read(ref _openExec), new KeyValuePair<string, object?>("kind", "exec")),
    ];

    [LoggerMessage(LogEvents.SessionJoinRefused, LogLevel.Warning,
        "Refused the agent of {CallerCluster}/{CallerNode} joining session {Session}, which was asked of {Cluster}/{Node}")]
    private static partial void LogJoinRefused(ILogger logger, string session, string callerCluster, string callerNode, string cluster, string node);
}
