using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>Which task changes a watcher wants; empty fields match everything.</summary>
internal sealed record TaskWatchFilter(string Cluster, string Family = "", string Node = "", string Service = "")
{
    public bool Matches(TaskRecord task) =>
        task.Cluster == Cluster
        && (Family.Length == 0 || task.Family == Family)
        && (Node.Length == 0 || task.Node == Node)
        && (Service.Length == 0 || task.Service == Service);
}

/// <summary>
/// Fans task changes out to watchers (the WatchTasks streams): a subscriber of the change feed that
/// hands each task a commit put to the watchers whose filter matches it. Publishing never waits: each
/// watcher has a bounded queue, and a watcher that lets it fill up is cut off (its reader completes with
/// <see cref="WatcherTooSlowException"/>) instead of slowing the scheduler down for everyone.
/// </summary>
internal sealed class TaskEventHub : IChangeSubscriber
{
    public const int QueueCapacity = 10_000;

    private readonly FeedWatchers<TaskRecord> _watchers = new(QueueCapacity, static () => new WatcherTooSlowException());

    public int WatcherCount => _watchers.Count;

    /// <summary>The most events any watcher has queued and not yet sent: how far the slowest one lags.</summary>
    public int MaxBacklog => _watchers.MaxBacklog;

    /// <param name="afterVersion">
    /// The version the watcher's view starts from: commits up to it are not events to it (with
    /// include_existing it has them already; a commit applied before a flush is published after it).
    /// </param>
    public FeedWatch<TaskRecord> Subscribe(TaskWatchFilter filter, long afterVersion = 0) => _watchers.Subscribe(filter.Matches, afterVersion);

    /// <summary>Each task the commit put, in order; deletes are not events (a pruned task was STOPPED already).</summary>
    public void OnApplied(AppliedChanges applied) => _watchers.Publish(applied.Version, applied.Tasks, static change => change.Current);
}

internal sealed class WatcherTooSlowException()
    : Exception($"the watcher fell more than {TaskEventHub.QueueCapacity} task changes behind; watch again with include_existing");
