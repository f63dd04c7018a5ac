namespace Orchestrator.Scheduler.Storage;

/// <summary>The durable copy of the scheduler's state. Only the state's one writer calls it.</summary>
internal interface IStateStore : IDisposable
{
    StoredState Load();

    /// <summary>
    /// Writes the batch atomically; when it returns, the change survives a crash of the process and,
    /// with the default flush, a power cut.
    /// </summary>
    /// <exception cref="StorageException">The write failed; nothing of the batch was kept.</exception>
    void Commit(WriteBatch batch);
}

/// <summary>The store could not be opened, read or written.</summary>
/// <param name="MayBeSaved">The write reached the file but not the disk: after a restart it may be there.</param>
internal sealed class StorageException(string message, Exception? inner = null, bool mayBeSaved = false) : Exception(message, inner)
{
    public bool MayBeSaved { get; } = mayBeSaved;
}
