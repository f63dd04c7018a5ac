using LiteDB;

namespace Orchestrator.Scheduler.Storage;

/// <summary>One open LiteDB file: a collection per table, and the store's version in a "meta" collection.</summary>
internal sealed class LiteDbFile
{
    private const string VersionKey = "version";
    private readonly Dictionary<StoreTable, ILiteCollection<BsonDocument>> _tables;
    private readonly ILiteCollection<BsonDocument> _meta;

    public LiteDbFile(LiteDatabase database)
    {
        Database = database;
        _tables = StoreTables.All.ToDictionary(t => t, t => database.GetCollection(t.Name));
        _meta = database.GetCollection("meta");
        Version = _meta.FindById(VersionKey)?["v"].AsInt64 ?? 0;
    }

    public LiteDatabase Database { get; }

    /// <summary>The version of the last commit (0 for a file written before versions, or new); kept in memory after each commit.</summary>
    public long Version { get; set; }

    public ILiteCollection<BsonDocument> Table(StoreTable table) => _tables[table];

    /// <summary>Inside the commit's transaction, so the version and the changes land together.</summary>
    public void WriteVersion(long version) => _meta.Upsert(new BsonDocument { ["_id"] = VersionKey, ["v"] = version });

    /// <summary>Reads every collection once, so a damaged file fails at open, not at the first request.</summary>
    public void Probe()
    {
        foreach (var collection in _tables.Values)
        {
            _ = collection.Count();
        }

        _ = _meta.Count();
    }
}
