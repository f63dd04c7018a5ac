namespace Orchestrator.Scheduler.Storage;

/// <summary>The puts and deletes a <see cref="WriteBatch"/> gathers for one table.</summary>
internal abstract class TableWrites(StoreTable table)
{
    public StoreTable Table { get; } = table;

    public List<string> Deletes { get; } = [];

    public abstract int Count { get; }

    /// <summary>Puts before deletes: a batch that puts and deletes one key deletes it.</summary>
    public abstract IEnumerable<Change> Changes();

    /// <summary>Adds a change read from a change set or a store.</summary>
    public abstract void Add(Change change);
}

internal sealed class TableWrites<T>(StoreTable<T> table) : TableWrites(table)
    where T : class
{
    public List<T> Puts { get; } = [];

    public override int Count => Puts.Count + Deletes.Count;

    public override IEnumerable<Change> Changes()
    {
        foreach (var record in Puts)
        {
            yield return table.Put(record);
        }

        foreach (var key in Deletes)
        {
            yield return table.Delete(key);
        }
    }

    public override void Add(Change change)
    {
        if (change.Record is null)
        {
            Deletes.Add(change.Key);
        }
        else
        {
            Puts.Add((T)change.Record);
        }
    }
}
