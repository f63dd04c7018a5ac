using System.Threading.Channels;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// The watch streams of one kind of change feed item (task changes, cluster events): each watcher has
/// a filter and a bounded queue. Publishing never waits: a watcher that lets its queue fill up is cut
/// off (its reader completes with the hub's "too slow" exception) instead of slowing the scheduler down
/// for everyone. Called from the change feed, so an item reaches watchers only once its commit is durable.
/// </summary>
internal sealed class FeedWatchers<TItem>(int capacity, Func<Exception> tooSlow)
{
    private readonly Lock _gate = new();
    private FeedWatch<TItem>[] _watches = [];

    public int Count => Volatile.Read(ref _watches).Length;

    /// <summary>The most items any watcher has queued and not yet sent: how far the slowest one lags.</summary>
    public int MaxBacklog
    {
        get
        {
            var most = 0;
            foreach (var watch in Volatile.Read(ref _watches))
            {
                most = Math.Max(most, watch.Reader.Count);
            }

            return most;
        }
    }

    /// <param name="afterVersion">Commits up to this version are not events to this watcher (it read them from memory already).</param>
    public FeedWatch<TItem> Subscribe(Func<TItem, bool> matches, long afterVersion)
    {
        var watch = new FeedWatch<TItem>(capacity, matches, afterVersion, Remove);
        lock (_gate)
        {
            _watches = [.. _watches, watch];
        }

        return watch;
    }

    /// <summary>Hands the items of the commit at <paramref name="version"/> to every watcher that wants them, in order.</summary>
    public void Publish<TSource>(long version, IReadOnlyList<TSource> sources, Func<TSource, TItem> item)
    {
        foreach (var watch in Volatile.Read(ref _watches))
        {
            if (version > watch.AfterVersion && !watch.TryDeliver(sources, item))
            {
                watch.CutOff(tooSlow());
                Remove(watch);
            }
        }
    }

    private void Remove(FeedWatch<TItem> watch)
    {
        lock (_gate)
        {
            _watches = [.. _watches.Where(w => w != watch)];
        }
    }
}

/// <summary>One watcher of <see cref="FeedWatchers{TItem}"/>: read <see cref="Reader"/>, dispose to stop watching.</summary>
internal sealed class FeedWatch<TItem> : IDisposable
{
    private readonly Channel<TItem> _queue;
    private readonly Func<TItem, bool> _matches;
    private readonly Action<FeedWatch<TItem>> _remove;

    public FeedWatch(int capacity, Func<TItem, bool> matches, long afterVersion, Action<FeedWatch<TItem>> remove)
    {
        _matches = matches;
        _remove = remove;
        AfterVersion = afterVersion;
        _queue = Channel.CreateBounded<TItem>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping silently
        });
    }

    public long AfterVersion { get; }

    public ChannelReader<TItem> Reader => _queue.Reader;

    /// <returns>False when the queue is full.</returns>
    internal bool TryDeliver<TSource>(IReadOnlyList<TSource> sources, Func<TSource, TItem> item)
    {
        foreach (var source in sources)
        {
            var value = item(source);
            if (_matches(value) && !_queue.Writer.TryWrite(value))
            {
                return false;
            }
        }

        return true;
    }

    internal void CutOff(Exception reason) => _queue.Writer.TryComplete(reason);

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _remove(this);
    }
}
