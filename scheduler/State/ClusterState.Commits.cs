using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// The commit protocol. Every change set is validated, written to the store, applied to memory and,
/// once the store says it is durable (flushed to disk), published on the change feed in version order;
/// only then are watchers told, agents sent commands, and callers answered. It comes in two forms that
/// share every step and differ only in where the wait for the disk happens:
/// <list type="bullet">
/// <item><see cref="Commit"/> waits for it under the lock and applies only a durable change: the form of
/// every single write (a StopTask, a service update, a registration), where a failed flush leaves
/// memory untouched.</item>
/// <item><see cref="CommitAhead"/> applies a written change at once and leaves the lock, so the next
/// group is placed and written while this one's flush is under way (group commit, as databases do it):
/// the form of the two paths that carry the load, RunTask groups and agents' report groups, whose
/// commits then share flushes. Their callers await the returned task before they answer anyone. Reads
/// may see such a change up to a flush (about 0.4 ms) before it is durable; should that flush fail,
/// the change is taken out of memory again (those groups only put tasks and receipts, whose earlier
/// records the applied changes carry), nothing of it was ever published, the store refuses every
/// later write, and the scheduler stops itself (Hosting/StoreLossStop) to load what the disk holds.</item>
/// </list>
/// </summary>
internal sealed partial class ClusterState
{
    // Commits applied to memory whose flush is still under way, oldest first, each with the task that
    // says when it is durable: published once it is.
    private readonly Queue<(AppliedChanges Applied, Task Durable)> _unpublished = new();

    // Completes once the newest commit made ahead of its flush is published (or failed).
    private Task _aheadPublished = Task.CompletedTask;

    /// <summary>
    /// Writes the batch, waits until it is durable, applies it and publishes it (with any earlier
    /// commit still waiting to be). Call under the lock, with the batch validated (and placed).
    /// </summary>
    /// <exception cref="RequestException">UNAVAILABLE: the store refused it or its flush failed; memory is as it was.</exception>
    private void Commit(WriteBatch batch)
    {
        AddEvents(batch);
        var changes = batch.ToChangeSet();
        if (changes.IsEmpty)
        {
            return;
        }

        var runs = CommitChunks.Split(changes.Changes, _store.Limits, _ => 1, CommitChunks.BytesOf);
        if (runs.Count > 1)
        {
            CommitInRuns(batch.Origin, runs);
            return;
        }

        var commit = Begin(changes);
        WaitDurable(commit.Durable);
        _unpublished.Enqueue((new AppliedChanges(_version, batch.Origin, changes, Apply(batch)), commit.Durable));

        // Durable in order: the commits written before this one are durable too.
        PublishDurable(_version);
    }

    /// <summary>
    /// A batch larger than one commit of the store may hold (etcd's 128 operations: a service pass that
    /// starts hundreds of tasks, the stops of a lost node's tasks, a prune), written as several commits
    /// in its order, each whole, each applied and published as it lands. The batches that grow so large
    /// are made of records that stand alone (each task, each receipt, each event), and the passes that
    /// make them look at the state afresh each time: should a later run fail, what the earlier ones
    /// wrote stands, and the next pass or the caller's retry does the rest.
    /// </summary>
    private void CommitInRuns(ChangeOrigin origin, List<List<Change>> runs)
    {
        foreach (var run in runs)
        {
            var changes = new ChangeSet(run);
            var commit = Begin(changes);
            WaitDurable(commit.Durable);
            _unpublished.Enqueue((new AppliedChanges(_version, origin, changes, Apply(WriteBatch.From(run, origin))), commit.Durable));
            PublishDurable(_version);
        }
    }

    /// <summary>
    /// Writes the batch and applies it at once; the task completes once it is durable and published.
    /// Call under the lock; await the task after leaving it, before answering anyone of the change.
    /// </summary>
    /// <exception cref="RequestException">UNAVAILABLE, thrown: the store refused the write; nothing was applied.</exception>
    /// <returns>Fails with an UNAVAILABLE <see cref="RequestException"/> when the flush failed; the change is then out of memory again.</returns>
    private Task CommitAhead(WriteBatch batch)
    {
        AddEvents(batch);
        var changes = batch.ToChangeSet();
        if (changes.Changes.Any(c => c.IsDelete || (c.Table != StoreTables.Tasks && c.Table != StoreTables.Receipts && c.Table != StoreTables.Events)))
        {
            throw new InvalidOperationException("only puts of tasks, receipts and events are committed ahead of their flush: their undo is known");
        }

        if (changes.IsEmpty)
        {
            // Nothing to write, but what the caller answers may come from a commit still on its way to
            // the disk (a RunTask repeated while the first is being flushed): it waits for that too.
            return _unpublished.Count > 0 ? _aheadPublished : Task.CompletedTask;
        }

        var commit = Begin(changes);
        _unpublished.Enqueue((new AppliedChanges(_version, batch.Origin, changes, Apply(batch)), commit.Durable));
        return _aheadPublished = PublishWhenDurableAsync(commit.Durable, _version);
    }

    private async Task PublishWhenDurableAsync(Task durable, long version)
    {
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                // Commits before the failed flush may be durable with their publication still to come
                // (their continuations wait for this lock): they stay, and are published now.
                while (_unpublished.TryPeek(out var entry) && entry.Durable.IsCompletedSuccessfully)
                {
                    _feed.Publish(_unpublished.Dequeue().Applied);
                }

                UndoUnpublished();
            }

            throw Refused(e);
        }

        lock (_gate)
        {
            PublishDurable(version);
        }
    }

    /// <summary>Begins the commit at the state's version and waits until it is written; the state's version moves on with it.</summary>
    /// <remarks>
    /// Waited for here, synchronously, under the state's lock: ClusterState and its callers are
    /// synchronous, and the lock keeps memory, the version and the order of commits in step. Waiting
    /// cannot deadlock: LiteDB's commits run on the store's own writer thread and its flushes on its
    /// flusher thread (<see cref="WriterThread"/>, <see cref="GroupFlusher"/>), never on the thread pool
    /// this thread may belong to, and the in-memory store completes before it returns. For a store that
    /// answers over the network (etcd), the next step is an async writer here, so that a slow round
    /// trip holds no thread and no lock.
    /// </remarks>
    private StoreCommit Begin(ChangeSet changes)
    {
        // One bool read on the leader's path (a deposed leader is also fenced by the store, should it get past this).
        if (!_leadership.IsLeader)
        {
            throw new RequestException(RequestErrorKind.Unavailable, "",
                $"this scheduler cannot change anything now: {_leadership.NotLeaderReason ?? "it is not the leader"}; nothing was changed");
        }

        if (!_tookOver)
        {
            throw new RequestException(RequestErrorKind.Unavailable, "",
                "this scheduler was just elected and is still applying the old leader's last commits; nothing was changed, try again");
        }

        var commit = _store.BeginCommit(changes, _version);
        try
        {
            _version = commit.Written.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is StoreConflictException or StorageException)
        {
            throw Refused(e);
        }

        return commit;
    }

    private void WaitDurable(Task durable)
    {
        try
        {
            durable.GetAwaiter().GetResult();
        }
        catch (StorageException e)
        {
            throw Refused(e);
        }
    }

    /// <summary>Publishes, in order, the applied commits up to this version: they are durable.</summary>
    private void PublishDurable(long version)
    {
        while (_unpublished.TryPeek(out var entry) && entry.Applied.Version <= version)
        {
            _feed.Publish(_unpublished.Dequeue().Applied);
        }
    }

    /// <summary>
    /// A flush failed: every commit applied ahead of it is taken out of memory again, newest first
    /// (each task put back as it was before, each new task, receipt and event removed). None was published.
    /// </summary>
    private void UndoUnpublished()
    {
        foreach (var (applied, _) in _unpublished.Reverse())
        {
            var undo = new WriteBatch();
            foreach (var change in applied.Tasks.Reverse())
            {
                if (change.Previous is { } previous)
                {
                    undo.Tasks.Add(previous);
                }
                else
                {
                    undo.DeletedTasks.Add(change.Current.Id);
                }
            }

            undo.DeletedReceipts.AddRange(applied.Changes.Changes.Where(c => c.Table == StoreTables.Receipts).Select(c => c.Key));
            undo.DeletedEvents.AddRange(applied.Changes.Changes.Where(c => c.Table == StoreTables.Events).Select(c => c.Key));
            Apply(undo);
        }

        _unpublished.Clear();
    }

    /// <summary>
    /// Each task as the last published commit left it, where a commit still on its way to the disk
    /// changed it: null for a task such a commit created. What was not yet published is not shown as
    /// existing to a watcher, nor sent to a registering agent: both hear of it once it is published.
    /// </summary>
    private Dictionary<string, TaskRecord?> PublishedTasksWhereUnpublished()
    {
        var published = new Dictionary<string, TaskRecord?>(StringComparer.Ordinal);
        foreach (var (applied, _) in _unpublished)
        {
            foreach (var change in applied.Tasks)
            {
                published.TryAdd(change.Current.Id, change.Previous);
            }
        }

        return published;
    }

    /// <summary>What a caller is told when the store refused a change or could not flush it.</summary>
    private RequestException Refused(Exception e)
    {
        Log.StoreWriteFailed(_log, e.Message);
        return e switch
        {
            StoreConflictException => new RequestException(RequestErrorKind.Unavailable, "",
                $"the change was not saved, nothing was applied: {e.Message}; restart the scheduler to load the stored state"),
            StorageException { MayBeSaved: true } => new RequestException(RequestErrorKind.Unavailable, "",
                $"the change was not applied, and whether it was saved is not known: {e.Message}"),
            _ => new RequestException(RequestErrorKind.Unavailable, "", $"the change was not saved, nothing was applied: {e.Message}"),
        };
    }
}
