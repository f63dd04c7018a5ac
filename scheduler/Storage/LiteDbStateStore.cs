using System.Text.Json;
using System.Text.Json.Serialization;
using LiteDB;
using JsonSerializer = System.Text.Json.JsonSerializer;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// The state in one LiteDB file. Each record is a document { _id, v } where v is the record as JSON:
/// the scheduler reads the whole state once at start and never queries the file afterwards, so the
/// file needs keys, not indexes, and JSON keeps records readable and tolerant of added fields.
/// </summary>
internal sealed class LiteDbStateStore : IStateStore
{
    private static readonly JsonSerializerOptions Json = new()
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly LiteDatabase _db;
    private readonly ILiteCollection<BsonDocument> _clusters;
    private readonly ILiteCollection<BsonDocument> _taskDefinitions;
    private readonly ILiteCollection<BsonDocument> _nodes;
    private readonly ILiteCollection<BsonDocument> _tasks;
    private readonly ILiteCollection<BsonDocument> _services;
    private readonly ILiteCollection<BsonDocument> _receipts;

    private readonly bool _isNew;

    private LiteDbStateStore(LiteDatabase db, bool isNew)
    {
        _db = db;
        _isNew = isNew;
        _clusters = db.GetCollection("clusters");
        _taskDefinitions = db.GetCollection("task_definitions");
        _nodes = db.GetCollection("nodes");
        _tasks = db.GetCollection("tasks");
        _services = db.GetCollection("services");
        _receipts = db.GetCollection("run_task_receipts");
    }

    /// <summary>
    /// Opens (or creates) the file. A file that is not a LiteDB database, is damaged, or cannot be
    /// written is refused with a <see cref="StorageException"/> and left exactly as it was.
    /// </summary>
    public static LiteDbStateStore Open(string path)
    {
        var full = Path.GetFullPath(path);
        LiteDatabase? db = null;
        try
        {
            var directory = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            // Direct: this process alone owns the file. AutoRebuild stays off: a damaged file must stop
            // the scheduler, never be silently rewritten.
            var isNew = !File.Exists(full);
            if (!isNew)
            {
                CheckReadOnly(full);
            }

            db = new LiteDatabase(new ConnectionString { Filename = full, Connection = ConnectionType.Direct, AutoRebuild = false });
            var store = new LiteDbStateStore(db, isNew);
            store.Probe();
            return store;
        }
        catch (Exception e) when (e is not (OutOfMemoryException or StorageException))
        {
            // A damaged header throws whatever LiteDB trips over (LiteException, ArgumentOutOfRange,
            // InvalidCast...): any failure here means the file cannot be trusted.
            db?.Dispose();
            throw new StorageException($"cannot open the state database {full}: {e.Message}", e);
        }
        catch (StorageException)
        {
            db?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// LiteDB "repairs" some damaged files as it opens them for writing (it truncates them to whole
    /// pages, for one), so a file is first checked without write access: what is not a whole number
    /// of pages, or does not open and read read-only, is refused before anything can touch it.
    /// </summary>
    private static void CheckReadOnly(string path)
    {
        const int PageSize = 8192;
        var length = new FileInfo(path).Length;
        if (length % PageSize != 0)
        {
            throw new StorageException($"cannot open the state database {path}: its size, {length} bytes, is not a whole number of LiteDB pages; it is damaged or not a LiteDB file");
        }

        using var probe = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct, ReadOnly = true });
        new LiteDbStateStore(probe, isNew: false).Probe();
    }

    public StoredState Load()
    {
        try
        {
            return new StoredState(
                _isNew,
                ReadAll<ClusterRecord>(_clusters),
                ReadAll<TaskDefinitionRecord>(_taskDefinitions),
                ReadAll<NodeRecord>(_nodes),
                ReadAll<TaskRecord>(_tasks),
                ReadAll<ServiceRecord>(_services),
                ReadAll<RunTaskReceipt>(_receipts));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new StorageException($"cannot read the state database: {e.Message}", e);
        }
    }

    public void Commit(WriteBatch batch)
    {
        if (batch.IsEmpty)
        {
            return;
        }

        // The transaction is opened and committed on this thread with no await in between: LiteDB
        // binds explicit transactions to their thread.
        if (!_db.BeginTrans())
        {
            throw new StorageException("a LiteDB transaction is already open on this thread");
        }

        try
        {
            foreach (var c in batch.Clusters) Put(_clusters, c.Name, c);
            foreach (var name in batch.DeletedClusters) _clusters.Delete(name);
            foreach (var d in batch.TaskDefinitions) Put(_taskDefinitions, d.Arn, d);
            foreach (var n in batch.Nodes) Put(_nodes, n.Key, n);
            foreach (var key in batch.DeletedNodes) _nodes.Delete(key);
            foreach (var t in batch.Tasks) Put(_tasks, t.Id, t);
            foreach (var id in batch.DeletedTasks) _tasks.Delete(id);
            foreach (var service in batch.Services) Put(_services, service.Key, service);
            foreach (var key in batch.DeletedServices) _services.Delete(key);
            foreach (var r in batch.Receipts) Put(_receipts, r.Key, r);
            foreach (var key in batch.DeletedReceipts) _receipts.Delete(key);
            if (!_db.Commit())
            {
                throw new StorageException("LiteDB did not commit the transaction");
            }
        }
        catch (Exception e)
        {
            TryRollback();
            if (e is StorageException)
            {
                throw;
            }

            throw new StorageException($"cannot write the state database: {e.Message}", e);
        }
    }

    public void Dispose() => _db.Dispose();

    private void TryRollback()
    {
        try
        {
            _db.Rollback();
        }
        catch (LiteException)
        {
            // The transaction is already gone; nothing of it was committed.
        }
        catch (IOException)
        {
            // Same: a failed write leaves the transaction uncommitted.
        }
    }

    /// <summary>Reads every collection once, so a damaged file fails at open, not at the first request.</summary>
    private void Probe()
    {
        _ = _clusters.Count();
        _ = _taskDefinitions.Count();
        _ = _nodes.Count();
        _ = _tasks.Count();
        _ = _services.Count();
        _ = _receipts.Count();
    }

    private static void Put<T>(ILiteCollection<BsonDocument> collection, string id, T record) =>
        collection.Upsert(new BsonDocument { ["_id"] = id, ["v"] = JsonSerializer.Serialize(record, Json) });

    private static List<T> ReadAll<T>(ILiteCollection<BsonDocument> collection) =>
        collection.FindAll().Select(doc => JsonSerializer.Deserialize<T>(doc["v"].AsString, Json)
            ?? throw new JsonException($"empty record {doc["_id"]} in {collection.Name}")).ToList();
}
