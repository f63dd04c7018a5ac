using System.Collections.Concurrent;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// One dedicated thread that runs a store's work, one item at a time, in the order it was queued.
/// LiteDB binds an explicit transaction to the thread that began it, so every transaction of a file
/// must begin and end on one thread, whichever thread asked for it; and one thread at a time also
/// makes the version check and the write of a commit one step. The thread is its own (not the thread
/// pool's), so a caller that blocks on the result cannot starve the thread that produces it.
/// </summary>
internal sealed class WriterThread : IDisposable
{
    private readonly BlockingCollection<Action> _queue = [];
    private readonly Thread _thread;

    public WriterThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>True on the writer thread itself.</summary>
    public bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>
    /// Queues the work; the task completes with its result or its exception once it ran. Continuations
    /// run on the thread pool, never on the writer thread, so a caller's code cannot hold the writer up.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The writer is stopped.</exception>
    public Task<T> Run<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (IsCurrent)
        {
            // Work queued from the writer thread would wait for itself; it runs at once instead.
            Execute(work, done);
            return done.Task;
        }

        try
        {
            _queue.Add(() => Execute(work, done), CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(_thread.Name, "the store's writer thread is stopped");
        }

        return done.Task;
    }

    /// <summary>Runs what is queued, then stops the thread.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        if (!IsCurrent)
        {
            _thread.Join();
        }
    }

    private static void Execute<T>(Func<T> work, TaskCompletionSource<T> done)
    {
        try
        {
            done.SetResult(work());
        }
        catch (Exception e)
        {
            done.SetException(e);
        }
    }

    private void Run()
    {
        foreach (var work in _queue.GetConsumingEnumerable())
        {
            work();
        }
    }
}
