using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Agents.Sessions;

internal enum SessionKind
{
    Logs,
    Exec,
}

/// <summary>The agent's end of a session once it said hello: its messages, the input it is sent, and its call's end.</summary>
/// <param name="Gone">Cancelled when the agent's Session call breaks off (the agent or its connection went).</param>
internal sealed record AgentEnd(
    IAsyncStreamReader<AgentSessionMessage> Messages,
    IServerStreamWriter<SchedulerSessionMessage> Input,
    CancellationToken Gone);

/// <summary>
/// One logs or exec session: asked of a node's agent for one client call, joined by the agent's
/// Session call once it says hello, and over when the client's call is (<see cref="Dispose"/>). The
/// client's handler alone reads and writes the agent's streams; the agent's handler only waits for
/// <see cref="Ended"/>, so the streams stay valid for as long as the client's handler uses them.
/// </summary>
internal sealed class TaskSession : IDisposable
{
    private readonly SessionBroker _broker;
    private readonly TaskCompletionSource<AgentEnd> _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskSession(SessionBroker broker, string id, SessionKind kind, string cluster, string node, string taskId, string container, IAgentSession nodeStream)
    {
        _broker = broker;
        Id = id;
        Kind = kind;
        Cluster = cluster;
        Node = node;
        TaskId = taskId;
        Container = container;
        NodeStream = nodeStream;
    }

    /// <summary>128 random bits, hex: whoever knows it may join, so only the node's own stream is told it.</summary>
    public string Id { get; }
    public SessionKind Kind { get; }
    public string Cluster { get; }
    public string Node { get; }
    public string TaskId { get; }
    public string Container { get; }

    /// <summary>The node's Connect stream the session was asked on: the session ends with it.</summary>
    public IAgentSession NodeStream { get; }

    /// <summary>Completes when the agent has joined; cancelled when the session was given up first.</summary>
    public Task<AgentEnd> Attached => _attached.Task;

    /// <summary>Completes when the client's side is done with the session: the agent's call then ends.</summary>
    public Task Ended => _ended.Task;

    /// <summary>False when the session was given up (or joined) before.</summary>
    public bool TryAttach(AgentEnd agent) => _attached.TrySetResult(agent);

    /// <summary>Gives up waiting for the agent; false when it has joined meanwhile (then use <see cref="Attached"/>).</summary>
    public bool TryGiveUp() => _attached.TrySetCanceled();

    public void Dispose()
    {
        _attached.TrySetCanceled();
        if (_ended.TrySetResult())
        {
            _broker.Forget(this);

            // The agent sees its Session call end only by reading it, which an exec's input can hold up
            // (a process that does not read its stdin): Connect, always read, tells it too.
            NodeStream.TrySend(new SchedulerMessage { CloseSession = new CloseSession { SessionId = Id } });
        }
    }
}
