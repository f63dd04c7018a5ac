using System.Threading.Channels;
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

    private readonly object _gate = new();
    private Subscription[] _subscriptions = [];

    public int WatcherCount => Volatile.Read(ref _subscriptions).Length;

    /// <summary>The most events any watcher has queued and not yet sent: how far the slowest one lags.</summary>
    public int MaxBacklog
    {
        get
        {
            var most = 0;
            foreach (var subscription in Volatile.Read(ref _subscriptions))
            {
                most = Math.Max(most, subscription.Reader.Count);
            }

            return most;
        }
    }

    /// <param name="afterVersion">
    /// The version the watcher's view starts from: commits up to it are not events to it (with
    /// include_existing it has them already; a commit applied before a flush is published after it).
    /// </param>
    public Subscription Subscribe(TaskWatchFilter filter, long afterVersion = 0)
    {
        var subscription = new Subscription(this, filter, afterVersion);
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    /// <summary>Each task the commit put, in order; deletes are not events (a pruned task was STOPPED already).</summary>
    public void OnApplied(AppliedChanges applied)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            if (applied.Version > subscription.AfterVersion && !Deliver(subscription, applied.Tasks))
            {
                subscription.Queue.Writer.TryComplete(new WatcherTooSlowException());
                Remove(subscription);
            }
        }
    }

    /// <summary>False when the watcher's queue is full.</summary>
    private static bool Deliver(Subscription subscription, IReadOnlyList<TaskChange> changes)
    {
        foreach (var change in changes)
        {
            if (subscription.Filter.Matches(change.Current) && !subscription.Queue.Writer.TryWrite(change.Current))
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
        private readonly TaskEventHub _hub;

        public Subscription(TaskEventHub hub, TaskWatchFilter filter, long afterVersion)
        {
            _hub = hub;
            Filter = filter;
            AfterVersion = afterVersion;
            Queue = Channel.CreateBounded<TaskRecord>(new BoundedChannelOptions(QueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping silently
            });
        }

        public TaskWatchFilter Filter { get; }
        public long AfterVersion { get; }
        public Channel<TaskRecord> Queue { get; }
        public ChannelReader<TaskRecord> Reader => Queue.Reader;

        public void Dispose()
        {
            Queue.Writer.TryComplete();
            _hub.Remove(this);
        }
    }
}

internal sealed class WatcherTooSlowException()
    : Exception($"the watcher fell more than {TaskEventHub.QueueCapacity} task changes behind; watch again with include_existing");
