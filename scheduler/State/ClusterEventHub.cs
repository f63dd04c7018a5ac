using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>Which cluster events a watcher or a query wants; empty fields match everything.</summary>
internal sealed record ClusterEventFilter(string Cluster, IReadOnlySet<ClusterEventType> Types, string Node = "", string Service = "")
{
    public bool Matches(ClusterEventRecord e) =>
        e.Cluster == Cluster
        && (Types.Count == 0 || Types.Contains(e.Type))
        && (Node.Length == 0 || e.Node == Node)
        && (Service.Length == 0 || e.Service == Service);
}

/// <summary>
/// Fans cluster events out to watchers (the WatchEvents streams): a subscriber of the change feed, so
/// an event reaches a watcher only once its commit is durable. As <see cref="TaskEventHub"/>, publishing
/// never waits: a watcher whose bounded queue fills up is cut off with <see cref="EventWatcherTooSlowException"/>.
/// </summary>
internal sealed class ClusterEventHub : IChangeSubscriber
{
    public const int QueueCapacity = 10_000;

    private readonly FeedWatchers<ClusterEventRecord> _watchers = new(QueueCapacity, static () => new EventWatcherTooSlowException());

    public int WatcherCount => _watchers.Count;

    /// <param name="afterVersion">Commits up to this version were read from memory by the watcher already.</param>
    public FeedWatch<ClusterEventRecord> Subscribe(ClusterEventFilter filter, long afterVersion) => _watchers.Subscribe(filter.Matches, afterVersion);

    public void OnApplied(AppliedChanges applied)
    {
        if (_watchers.Count == 0)
        {
            return;
        }

        var events = applied.Changes.Puts(StoreTables.Events).ToList();
        if (events.Count > 0)
        {
            _watchers.Publish(applied.Version, events, static e => e);
        }
    }
}

internal sealed class EventWatcherTooSlowException()
    : Exception($"the watcher fell more than {ClusterEventHub.QueueCapacity} events behind; watch again with sinceSequence set to the last sequence it got");
