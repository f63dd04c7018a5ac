using System.Threading.Channels;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Agents;

/// <summary>
/// The scheduler's end of one agent stream. Commands are queued here by the state (never blocking
/// it) and written to the stream by one pump, since a gRPC stream takes one writer at a time.
/// </summary>
internal sealed class AgentSession : IAgentSession, IDisposable
{
    private static long _lastId;

    private readonly Channel<SchedulerMessage> _outbox = Channel.CreateUnbounded<SchedulerMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed;

    // Kept apart from its source, so that a task session that looks at it after the stream was
    // disposed still finds it (cancelled: Close always comes first) instead of an exception.
    private readonly CancellationToken _closedToken;

    public AgentSession()
    {
        _closed = new CancellationTokenSource();
        _closedToken = _closed.Token;
    }

    public long Id { get; } = Interlocked.Increment(ref _lastId);

    /// <summary>Cancelled when the stream is closed: by the state (replaced by a newer stream, deregistered, silent) or as its Connect call ends.</summary>
    public CancellationToken Closed => _closedToken;

    public ChannelReader<SchedulerMessage> Outbox => _outbox.Reader;

    public bool TrySend(SchedulerMessage message) => _outbox.Writer.TryWrite(message);

    public void Close()
    {
        _outbox.Writer.TryComplete();
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already gone.
        }
    }

    public void Dispose()
    {
        _outbox.Writer.TryComplete();
        _closed.Dispose();
    }
}
