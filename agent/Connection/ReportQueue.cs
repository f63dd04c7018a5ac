using System.Threading.Channels;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Connection;

/// <summary>
/// Numbers task reports and keeps each until the scheduler acknowledges it. While a stream is up they
/// go straight to its outbox; after a reconnect every unacknowledged one is sent again, in order.
/// The scheduler applies each at most once, since task statuses only move forward.
/// </summary>
internal sealed class ReportQueue : IReportSink
{
    private readonly object _gate = new();
    private readonly SortedDictionary<ulong, TaskStateReport> _pending = [];
    private ChannelWriter<AgentMessage>? _outbox;
    private ulong _sequence;

    public int PendingCount
    {
        get { lock (_gate) return _pending.Count; }
    }

    public void Report(TaskStateReport report)
    {
        lock (_gate)
        {
            report.Sequence = ++_sequence;
            _pending[report.Sequence] = report;
            _outbox?.TryWrite(new AgentMessage { TaskState = report });
        }
    }

    public void Acknowledge(ulong sequence)
    {
        lock (_gate)
        {
            _pending.Remove(sequence);
        }
    }

    /// <summary>A new stream is registered: send it what was not acknowledged, then everything new.</summary>
    public void Attach(ChannelWriter<AgentMessage> outbox)
    {
        lock (_gate)
        {
            foreach (var report in _pending.Values)
            {
                outbox.TryWrite(new AgentMessage { TaskState = report });
            }

            _outbox = outbox;
        }
    }

    public void Detach(ChannelWriter<AgentMessage> outbox)
    {
        lock (_gate)
        {
            if (_outbox == outbox)
            {
                _outbox = null;
            }
        }
    }
}
