namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// How far one commit has got (<see cref="IStateStore.BeginCommit"/>). A store that writes first and
/// flushes later (LiteDB: a transaction into its log through the page cache, then an fdatasync shared
/// by every commit written meanwhile) completes <see cref="Written"/> long before <see cref="Durable"/>;
/// one where the two are the same (memory, a replicated store that answers once a quorum has it)
/// completes both together.
/// </summary>
/// <param name="Written">
/// Completes with the store's version after the commit once the change set is in the store: it
/// survives a crash of the process, and the next commit is made on top of it. Fails when nothing was
/// written (a stale version, a full disk).
/// </param>
/// <param name="Durable">
/// Completes once the commit also survives a power cut. Commits become durable in the order they were
/// written; when a flush fails, this one and every later one fail, and the store refuses every commit
/// after: what the disk holds is unknown until the store is opened again. Fails too when
/// <see cref="Written"/> does, with the same exception.
/// </param>
internal sealed record StoreCommit(Task<long> Written, Task Durable)
{
    /// <summary>A commit that failed before anything was written.</summary>
    public static StoreCommit Failed(Exception error) => new(Task.FromException<long>(error), Task.FromException(error));

    /// <summary>A commit that was written and is durable at once.</summary>
    public static StoreCommit Done(long version) => new(Task.FromResult(version), Task.CompletedTask);
}
