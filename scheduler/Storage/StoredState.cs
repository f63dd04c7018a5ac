namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// Everything the store holds, as read at start: the records of each table, read by table
/// (<see cref="Of{T}"/>), so that a new kind of record needs no edit here.
/// </summary>
internal sealed class StoredState
{
    private readonly IReadOnlyDictionary<StoreTable, IReadOnlyList<object>> _tables;

    /// <param name="isNew">The store did not exist before this start.</param>
    /// <param name="version">The store's version: 0 for a new store, one more with each commit.</param>
    /// <param name="tables">Each table's records; a table left out has none.</param>
    public StoredState(bool isNew, long version, IReadOnlyDictionary<StoreTable, IReadOnlyList<object>> tables)
    {
        IsNew = isNew;
        Version = version;
        _tables = tables;
    }

    /// <summary>A store with nothing in it yet.</summary>
    public static StoredState New() => new(true, 0, new Dictionary<StoreTable, IReadOnlyList<object>>());

    public bool IsNew { get; }

    public long Version { get; }

    public IReadOnlyList<T> Of<T>(StoreTable<T> table) where T : class =>
        [.. _tables.GetValueOrDefault(table, []).Cast<T>()];

    /// <summary>Every record as a put, table by table in <see cref="StoreTables.All"/>'s order: what memory applies at start.</summary>
    public IEnumerable<Change> AsPuts() =>
        StoreTables.All.SelectMany(table => _tables.GetValueOrDefault(table, []).Select(record => new Change(table, table.KeyOf(record), record)));
}
