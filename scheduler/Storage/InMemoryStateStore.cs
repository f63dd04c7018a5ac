namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// The store contract in memory, for tests: records are kept as the JSON every store writes (so what
/// does not serialize fails here too), a commit lands whole or not at all, and the version counts the
/// commits as LiteDB's does. <see cref="FailNext"/> makes the next commits fail as a full disk would.
/// Every call completes before it returns.
/// </summary>
internal sealed class InMemoryStateStore : IStateStore
{
    private readonly Dictionary<StoreTable, SortedDictionary<string, string>> _tables =
        StoreTables.All.ToDictionary(t => t, _ => new SortedDictionary<string, string>(StringComparer.Ordinal));

    private readonly Lock _gate = new();
    private long _version;
    private bool _loaded;

    /// <summary>A limit on commits as etcd has (none by default): a change set over it is refused, nothing written.</summary>
    public StoreLimits Limits { get; set; } = StoreLimits.None;

    /// <summary>How many of the next commits fail, nothing written.</summary>
    public int FailNext { get; set; }

    public Task<StoredState> LoadAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var tables = _tables.ToDictionary(t => t.Key, t => (IReadOnlyList<object>)[.. t.Value.Select(r => t.Key.Read(r.Value, r.Key))]);
            var isNew = !_loaded && _version == 0;
            _loaded = true;
            return Task.FromResult(new StoredState(isNew, _version, tables));
        }
    }

    /// <summary>Written and durable at once, as a store in memory is.</summary>
    public StoreCommit BeginCommit(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new StoreCommit(Task.FromCanceled<long>(cancellationToken), Task.FromCanceled(cancellationToken));
        }

        try
        {
            return StoreCommit.Done(Commit(changes, expectedVersion));
        }
        catch (Exception e)
        {
            return StoreCommit.Failed(e);
        }
    }

    private long Commit(ChangeSet changes, long expectedVersion)
    {
        lock (_gate)
        {
            if (_version != expectedVersion)
            {
                throw new StoreConflictException(expectedVersion, _version);
            }

            if (FailNext > 0)
            {
                FailNext--;
                throw new StorageException("cannot write the state: No space left on device (simulated)");
            }

            if (changes.IsEmpty)
            {
                return _version;
            }

            if (changes.Count > Limits.MaxChanges)
            {
                throw new StorageException($"the change set has {changes.Count} puts and deletes, over the store's limit of {Limits.MaxChanges} (simulated)");
            }

            // Serialized first, applied after: a record that does not serialize leaves nothing half-written.
            var writes = changes.Changes.Select(c => (c, Json: c.IsDelete ? null : StoreJson.Write(c))).ToList();
            foreach (var (change, json) in writes)
            {
                if (json is null)
                {
                    _tables[change.Table].Remove(change.Key);
                }
                else
                {
                    _tables[change.Table][change.Key] = json;
                }
            }

            return ++_version;
        }
    }

    public void Dispose()
    {
    }
}
