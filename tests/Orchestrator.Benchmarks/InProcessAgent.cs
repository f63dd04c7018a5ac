using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// A node's agent inside the benchmark process: it takes the state's commands as its session and,
/// when asked, answers each start command with a RUNNING report, as a real agent would a moment later.
/// </summary>
internal sealed class InProcessAgent(string name) : IAgentSession
{
    private static long _ids;
    private readonly Queue<SchedulerMessage> _inbox = new();
    private ulong _sequence;

    public string Name { get; } = name;
    public long Id { get; } = Interlocked.Increment(ref _ids);
    public HashSet<string> Running { get; } = [];
    public int Started { get; private set; }
    public bool Idle => _inbox.Count == 0;

    public bool TrySend(SchedulerMessage message)
    {
        _inbox.Enqueue(message);
        return true;
    }

    public void Close()
    {
    }

    public CancellationToken Closed => CancellationToken.None;

    /// <summary>Applies each RUNNING report on its own, one write each.</summary>
    public void Answer(ClusterState state)
    {
        foreach (var report in TakeReports())
        {
            state.ApplyReports([report]);
        }
    }

    /// <summary>A RUNNING report for each task it was told to start since the last call, for the caller to apply.</summary>
    public List<AgentReport> TakeReports()
    {
        var reports = new List<AgentReport>();
        while (_inbox.TryDequeue(out var message))
        {
            if (message.BodyCase == SchedulerMessage.BodyOneofCase.StartTask && Running.Add(message.StartTask.TaskId))
            {
                Started++;
                reports.Add(new AgentReport(NodeRecord.KeyOf("default", Name), this,
                    new TaskStateReport { Sequence = ++_sequence, TaskId = message.StartTask.TaskId, LastStatus = TaskStatus.Running }));
            }
        }

        return reports;
    }
}
