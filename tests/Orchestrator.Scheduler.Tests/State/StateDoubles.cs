using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
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

    public CancellationToken Closed => CancellationToken.None;
}

/// <summary>Keeps the change sets in memory (as batches, to read them by table); refuses them when told to.</summary>
internal sealed class RecordingStore : IStateStore
{
    public List<WriteBatch> Commits { get; } = [];

    public bool Refuse { get; set; }

    /// <summary>etcd's kind of limit: a commit with more changes is refused.</summary>
    public StoreLimits Limits { get; set; } = StoreLimits.None;

    public System.Threading.Tasks.Task<StoredState> LoadAsync(CancellationToken cancellationToken = default) => System.Threading.Tasks.Task.FromResult(StoredState.New());

    public StoreCommit BeginCommit(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default)
    {
        if (Refuse)
        {
            return StoreCommit.Failed(new StorageException("No space left on device"));
        }

        if (changes.Count > Limits.MaxChanges)
        {
            return StoreCommit.Failed(new StorageException($"{changes.Count} changes, over the limit of {Limits.MaxChanges}"));
        }

        Commits.Add(WriteBatch.From(changes.Changes));
        return StoreCommit.Done(expectedVersion + 1);
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// The state on a <see cref="RecordingStore"/> with two connected nodes, n1 and n2, of the given size,
/// and one task definition family whose one container asks for the given memory.
/// </summary>
internal sealed class TwoNodeState
{
    public TwoNodeState(int nodeMemory, string family, int taskMemory)
    {
        State = new ClusterState(Store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        State.RegisterAgent(new AgentRegistration("default", "n1", 4096, nodeMemory, new Dictionary<string, string>(), "test"), N1, []);
        State.RegisterAgent(new AgentRegistration("default", "n2", 4096, nodeMemory, new Dictionary<string, string>(), "test"), N2, []);
        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = family };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = taskMemory });
        State.RegisterTaskDefinition(definition, new TaskResourceDemand(0, taskMemory, []));
        Store.Commits.Clear();
    }

    public RecordingStore Store { get; } = new();

    public ClusterState State { get; }

    public RecordingSession N1 { get; } = new();

    public RecordingSession N2 { get; } = new();

    public TaskRecord Task(string id) => State.DescribeTasks("default", [id]).Single()!;
}

/// <summary>
/// A store in memory whose commits are written at once but made durable only when the test says
/// (<see cref="Release"/>, <see cref="FailHeld"/>) while <see cref="Hold"/> is on: the state's view of
/// a flush still under way. After a failed flush it refuses every commit, as LiteDB's store does.
/// </summary>
internal sealed class HeldFlushStore : IStateStore
{
    private readonly InMemoryStateStore _inner = new();
    private readonly Queue<System.Threading.Tasks.TaskCompletionSource> _held = new();
    private bool _broken;

    public bool Hold { get; set; }

    public int Held => _held.Count;

    public System.Threading.Tasks.Task<StoredState> LoadAsync(CancellationToken cancellationToken = default) => _inner.LoadAsync(cancellationToken);

    public StoreCommit BeginCommit(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default)
    {
        if (_broken)
        {
            return StoreCommit.Failed(new StorageException("an earlier commit could not be flushed to disk; restart the scheduler"));
        }

        var commit = _inner.BeginCommit(changes, expectedVersion, cancellationToken);
        if (!Hold || commit.Written.IsFaulted)
        {
            return commit;
        }

        var durable = new System.Threading.Tasks.TaskCompletionSource(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously);
        _held.Enqueue(durable);
        return commit with { Durable = durable.Task };
    }

    /// <summary>The flush of the oldest held commit succeeds.</summary>
    public void ReleaseOldest() => _held.Dequeue().SetResult();

    /// <summary>The flush of every held commit succeeds.</summary>
    public void Release()
    {
        while (_held.TryDequeue(out var durable))
        {
            durable.SetResult();
        }
    }

    /// <summary>The flush of every held commit fails; so does every commit after.</summary>
    public void FailHeld(string problem)
    {
        _broken = true;
        var error = new StorageException($"cannot flush the state database to disk: {problem}", mayBeSaved: true);
        while (_held.TryDequeue(out var durable))
        {
            durable.SetException(error);
        }
    }

    public void Dispose() => _inner.Dispose();
}
