namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// The durable copy of the scheduler's state: tables of records (<see cref="StoreTables"/>) written in
/// change sets, each one whole or not at all, with a version that counts the commits. Only the state's
/// one writer calls it. Every store passes the same contract tests (StateStoreContract): LiteDB, the
/// in-memory one for tests, and a replicated one next.
/// </summary>
internal interface IStateStore : IDisposable
{
    /// <summary>Every table's records and the store's version.</summary>
    /// <exception cref="StorageException">The store could not be read.</exception>
    Task<StoredState> LoadAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the change set atomically, in its order, if the store is still at
    /// <paramref name="expectedVersion"/> (optimistic concurrency: a writer that missed another's commit
    /// is refused, never merged). When the task completes, the change survives a crash of the process
    /// and, with the default flush, a power cut. An empty change set changes nothing and keeps the
    /// version, but is refused at a stale version all the same. Commits are applied one at a time in
    /// the order the store takes them; each that lands moves the version on by exactly one. The token
    /// only cancels a commit that has not begun.
    /// </summary>
    /// <returns>The store's version after the commit.</returns>
    /// <exception cref="StoreConflictException">The store is at another version; nothing was written.</exception>
    /// <exception cref="StorageException">The write failed; nothing of the change set was kept (unless <see cref="StorageException.MayBeSaved"/>).</exception>
    Task<long> CommitAsync(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default);
}

/// <summary>Another writer committed since this one last read or wrote: its view of the state is stale.</summary>
internal sealed class StoreConflictException(long expected, long actual)
    : Exception($"the store is at version {actual}, not {expected}: another writer changed it")
{
    public long Expected { get; } = expected;
    public long Actual { get; } = actual;
}

/// <summary>The store could not be opened, read or written.</summary>
/// <param name="MayBeSaved">The write reached the file but not the disk: after a restart it may be there.</param>
internal sealed class StorageException(string message, Exception? inner = null, bool mayBeSaved = false) : Exception(message, inner)
{
    public bool MayBeSaved { get; } = mayBeSaved;
}
