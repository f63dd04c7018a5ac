namespace Orchestrator.Scheduler.Storage;

/// <summary>The durable copy of the scheduler's state. Only the state's one writer calls it.</summary>
internal interface IStateStore : IDisposable
{
    StoredState Load();

    /// <summary>Writes the batch atomically; when it returns, the change survives a process crash.</summary>
    /// <exception cref="StorageException">The write failed; nothing of the batch was kept.</exception>
    void Commit(WriteBatch batch);
}

/// <summary>The store could not be opened, read or written.</summary>
internal sealed class StorageException(string message, Exception? inner = null) : Exception(message, inner);
