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
    /// is refused, never merged), and says how far it has got: written, then durable
    /// (<see cref="StoreCommit"/>). An empty change set changes nothing and keeps the version, but is
    /// refused at a stale version all the same. Commits are applied one at a time in the order the store
    /// takes them; each that lands moves the version on by exactly one, and the next may be begun as soon
    /// as this one is written, at the version it gave. The token only cancels a commit that has not begun.
    /// </summary>
    /// <remarks>
    /// Failures come through the tasks: <see cref="StoreConflictException"/> (the store is at another
    /// version; nothing was written) or <see cref="StorageException"/> (nothing of the change set was
    /// kept, or, from <see cref="StoreCommit.Durable"/>, it was written but whether it reached the disk
    /// is not known).
    /// </remarks>
    StoreCommit BeginCommit(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes, with the error, once the store can take no commit until it is opened again (a flush
    /// to disk failed: what the disk holds is unknown). Never, by default: a store in memory cannot.
    /// </summary>
    Task<StorageException> Lost => NeverLost.Task;

    /// <summary>
    /// The most one commit may hold (etcd's limits on a transaction); a larger change set is refused
    /// whole. Writers that group independent changes (RunTask groups, report groups) cut their groups to
    /// fit (<see cref="CommitChunks"/>). None, by default.
    /// </summary>
    StoreLimits Limits => StoreLimits.None;

    private static readonly TaskCompletionSource<StorageException> NeverLost = new();
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

/// <summary>The one way to wait for a whole commit, over every store.</summary>
internal static class StateStoreCommits
{
    /// <summary>
    /// <see cref="IStateStore.BeginCommit"/>, completing once the commit is durable: when the task completes, the
    /// change survives a crash of the process and, with the default flush, a power cut.
    /// </summary>
    /// <returns>The store's version after the commit.</returns>
    /// <exception cref="StoreConflictException">The store is at another version; nothing was written.</exception>
    /// <exception cref="StorageException">The write failed; nothing of the change set was kept (unless <see cref="StorageException.MayBeSaved"/>).</exception>
    public static async Task<long> CommitAsync(this IStateStore store, ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default)
    {
        var commit = store.BeginCommit(changes, expectedVersion, cancellationToken);
        var version = await commit.Written.ConfigureAwait(false);
        await commit.Durable.ConfigureAwait(false);
        return version;
    }
}
