using System.Threading.Channels;
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

    private readonly Lock _gate = new();
    private Subscription[] _subscriptions = [];

    public int WatcherCount => Volatile.Read(ref _subscriptions).Length;

    /// <param name="afterVersion">Commits up to this version were read from memory by the watcher already.</param>
    public Subscription Subscribe(ClusterEventFilter filter, long afterVersion)
    {
        var subscription = new Subscription(this, filter, afterVersion);
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    public void OnApplied(AppliedChanges applied)
    {
        var subscriptions = Volatile.Read(ref _subscriptions);
        if (subscriptions.Length == 0)
        {
            return;
        }

        var events = applied.Changes.Puts(StoreTables.Events).ToList();
        if (events.Count == 0)
        {
            return;
        }

        foreach (var subscription in subscriptions)
        {
            if (applied.Version > subscription.AfterVersion && !Deliver(subscription, events))
            {
                subscription.Queue.Writer.TryComplete(new EventWatcherTooSlowException());
                Remove(subscription);
            }
        }
    }

    /// <summary>False when the watcher's queue is full.</summary>
    private static bool Deliver(Subscription subscription, List<ClusterEventRecord> events)
    {
        foreach (var e in events)
        {
            if (subscription.Filter.Matches(e) && !subscription.Queue.Writer.TryWrite(e))
            {
                return false;
            }
        }

        return true;
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions.Where(s => s != subscription)];
        }
    }

    internal sealed class Subscription : IDisposable
    {
        private readonly ClusterEventHub _hub;

        public Subscription(ClusterEventHub hub, ClusterEventFilter filter, long afterVersion)
        {
            _hub = hub;
            Filter = filter;
            AfterVersion = afterVersion;
            Queue = Channel.CreateBounded<ClusterEventRecord>(new BoundedChannelOptions(QueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping silently
            });
        }

        public ClusterEventFilter Filter { get; }
        public long AfterVersion { get; }
        public Channel<ClusterEventRecord> Queue { get; }
        public ChannelReader<ClusterEventRecord> Reader => Queue.Reader;

        public void Dispose()
        {
            Queue.Writer.TryComplete();
            _hub.Remove(this);
        }
    }
}

internal sealed class EventWatcherTooSlowException()
    : Exception($"the watcher fell more than {ClusterEventHub.QueueCapacity} events behind; watch again with sinceSequence set to the last sequence it got");
