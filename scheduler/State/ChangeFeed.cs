using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// One commit as memory applied it: the change set, the store version its commit produced, who decided
/// it, and each task it put with the task as it was before (null for a new task), in the change set's
/// order, so that a subscriber acting on transitions (the agent dispatcher) needs no state of its own.
/// </summary>
internal sealed record AppliedChanges(long Version, ChangeOrigin Origin, ChangeSet Changes, IReadOnlyList<TaskChange> Tasks);

/// <summary>A task put by a commit: before (null when new) and after.</summary>
internal readonly record struct TaskChange(TaskRecord? Previous, TaskRecord Current);

/// <summary>
/// Told of every commit once it is stored and applied to memory, in version order, on the committing
/// thread and under the state's lock: it must only hand work on (queue, send on a channel), never wait,
/// throw, or call back into the state.
/// </summary>
internal interface IChangeSubscriber
{
    void OnApplied(AppliedChanges applied);
}

/// <summary>
/// The in-process change feed: after each commit is stored and applied, the state publishes it here
/// with its version, and every subscriber hears of it once, in order (swarmkit's publish after commit).
/// What acts on changes subscribes — the watch streams, the agent dispatcher — instead of being called
/// by the writers. Publishing is synchronous, so a subscriber sees a change before its writer answers
/// and unit tests drive subscribers directly.
/// </summary>
internal sealed class ChangeFeed
{
    private readonly Lock _gate = new();
    private IChangeSubscriber[] _subscribers = [];

    /// <summary>The version of the last change set published; 0 before any.</summary>
    public long Version { get; private set; }

    /// <summary>Adds a subscriber; it hears of the change sets published from now on. Disposing the result removes it.</summary>
    public IDisposable Subscribe(IChangeSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        return new Unsubscriber(this, subscriber);
    }

    /// <summary>Versions only move forward: a change set at or before the last one published is a bug in the writer.</summary>
    /// <exception cref="InvalidOperationException">The version is not after the last published.</exception>
    public void Publish(AppliedChanges applied)
    {
        if (applied.Version <= Version)
        {
            throw new InvalidOperationException($"change set at version {applied.Version} published after version {Version}");
        }

        Version = applied.Version;
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.OnApplied(applied);
        }
    }

    /// <summary>The versions start where the store is (at load), not at 0.</summary>
    public void StartAt(long version) => Version = version;

    private void Remove(IChangeSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscriber)];
        }
    }

    private sealed class Unsubscriber(ChangeFeed feed, IChangeSubscriber subscriber) : IDisposable
    {
        public void Dispose() => feed.Remove(subscriber);
    }
}
