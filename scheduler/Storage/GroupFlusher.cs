namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// Group commit: one flush to disk for every commit written while the previous flush was under way.
/// The store's writer thread hands each written commit here and goes on writing the next; this
/// thread of its own runs the flush (an fdatasync, about 0.4 ms on this project's disk) and then
/// completes every commit that was written before the flush began. So the writer never waits for the
/// disk, and under load one flush covers many commits. Commits become durable in the order they were
/// handed in. After a flush fails, every commit waiting and every later one fails with that error:
/// whether the disk holds them is unknown until the store is opened again.
/// </summary>
internal sealed class GroupFlusher : IDisposable
{
    private readonly object _gate = new();
    private readonly Action _flush;
    private readonly Action<TimeSpan, int>? _flushed;
    private readonly Thread _thread;
    private List<TaskCompletionSource> _waiting = [];
    private readonly TaskCompletionSource<StorageException> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private StorageException? _failed;
    private bool _stopping;

    /// <param name="flush">Makes everything written so far durable; throws <see cref="IOException"/> when the disk refuses.</param>
    /// <param name="flushed">Told each successful flush's duration and how many commits it made durable (the metrics).</param>
    public GroupFlusher(string name, Action flush, Action<TimeSpan, int>? flushed = null)
    {
        _flush = flush;
        _flushed = flushed;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Completes with the error of the first flush that fails.</summary>
    public Task<StorageException> Lost => _lost.Task;

    /// <summary>The error of the flush that failed, once one has; the store then refuses every commit.</summary>
    public StorageException? Failed
    {
        get
        {
            lock (_gate)
            {
                return _failed;
            }
        }
    }

    /// <summary>
    /// A commit that is written (its bytes are in the file): <paramref name="durable"/> completes after
    /// the next flush that begins from now on, or fails with it.
    /// </summary>
    public void Written(TaskCompletionSource durable)
    {
        lock (_gate)
        {
            if (_failed is not null)
            {
                durable.TrySetException(_failed);
                return;
            }

            if (_stopping)
            {
                durable.TrySetException(new StorageException("the state database is closed; nothing more is flushed"));
                return;
            }

            _waiting.Add(durable);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Flushes what is waiting, then stops the thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }

        _thread.Join();
    }

    private void Run()
    {
        while (true)
        {
            List<TaskCompletionSource> group;
            lock (_gate)
            {
                while (_waiting.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_waiting.Count == 0)
                {
                    return;
                }

                // Everything handed in until now was written before this flush begins: it covers them all.
                group = _waiting;
                _waiting = [];
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                _flush();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Fail(group, new StorageException($"cannot flush the state database to disk: {e.Message}", e, mayBeSaved: true));
                continue;
            }

            _flushed?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started), group.Count);
            foreach (var durable in group)
            {
                durable.TrySetResult();
            }
        }
    }

    private void Fail(List<TaskCompletionSource> group, StorageException error)
    {
        lock (_gate)
        {
            _failed ??= error;
            group.AddRange(_waiting);
            _waiting = [];
        }

        _lost.TrySetResult(_failed);

        foreach (var durable in group)
        {
            durable.TrySetException(error);
        }
    }
}
