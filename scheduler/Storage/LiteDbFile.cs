using LiteDB;

namespace Orchestrator.Scheduler.Storage;

/// <summary>One open LiteDB file and the scheduler's collections in it.</summary>
internal sealed class LiteDbFile(LiteDatabase database)
{
    public LiteDatabase Database { get; } = database;
    public ILiteCollection<BsonDocument> Clusters { get; } = database.GetCollection("clusters");
    public ILiteCollection<BsonDocument> TaskDefinitions { get; } = database.GetCollection("task_definitions");
    public ILiteCollection<BsonDocument> Nodes { get; } = database.GetCollection("nodes");
    public ILiteCollection<BsonDocument> Tasks { get; } = database.GetCollection("tasks");
    public ILiteCollection<BsonDocument> Services { get; } = database.GetCollection("services");
    public ILiteCollection<BsonDocument> Receipts { get; } = database.GetCollection("run_task_receipts");
    public ILiteCollection<BsonDocument> Tokens { get; } = database.GetCollection("api_tokens");
    public ILiteCollection<BsonDocument> JoinTokens { get; } = database.GetCollection("join_tokens");
    public ILiteCollection<BsonDocument> NodeIdentities { get; } = database.GetCollection("node_identities");

    /// <summary>Reads every collection once, so a damaged file fails at open, not at the first request.</summary>
    public void Probe()
    {
        _ = Clusters.Count();
        _ = TaskDefinitions.Count();
        _ = Nodes.Count();
        _ = Tasks.Count();
        _ = Services.Count();
        _ = Receipts.Count();
        _ = Tokens.Count();
        _ = JoinTokens.Count();
        _ = NodeIdentities.Count();
    }
}
