using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>An agent stream that keeps what the state sends it.</summary>
internal sealed class RecordingSession : IAgentSession
{
    private static long _ids;

    public long Id { get; } = Interlocked.Increment(ref _ids);

    public List<SchedulerMessage> Sent { get; } = [];

    public bool TrySend(SchedulerMessage message)
    {
        Sent.Add(message);
        return true;
    }

    public void Close()
    {
    }
}

/// <summary>Keeps the batches in memory; refuses them when told to.</summary>
internal sealed class RecordingStore : IStateStore
{
    public List<WriteBatch> Commits { get; } = [];

    public bool Refuse { get; set; }

    public StoredState Load() => new(true, [], [], [], [], [], []);

    public void Commit(WriteBatch batch)
    {
        if (Refuse)
        {
            throw new StorageException("No space left on device");
        }

        Commits.Add(batch);
    }

    public void Dispose()
    {
    }
}
