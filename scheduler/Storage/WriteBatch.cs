using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// Every change of one operation, written to the store in one transaction and only then applied to
/// memory. An operation either lands whole or not at all.
/// </summary>
internal sealed class WriteBatch
{
    /// <summary>Who decided these changes; an agent's report needs no command sent back for it.</summary>
    public State.ChangeOrigin Origin { get; init; } = State.ChangeOrigin.Scheduler;

    public List<ClusterRecord> Clusters { get; } = [];
    public List<string> DeletedClusters { get; } = [];
    public List<TaskDefinitionRecord> TaskDefinitions { get; } = [];
    public List<NodeRecord> Nodes { get; } = [];
    public List<string> DeletedNodes { get; } = [];
    public List<TaskRecord> Tasks { get; } = [];
    public List<string> DeletedTasks { get; } = [];
    public List<ServiceRecord> Services { get; } = [];
    public List<string> DeletedServices { get; } = [];
    public List<RunTaskReceipt> Receipts { get; } = [];
    public List<string> DeletedReceipts { get; } = [];
    public List<ApiTokenRecord> Tokens { get; } = [];
    public List<JoinTokenRecord> JoinTokens { get; } = [];
    public List<NodeIdentityRecord> NodeIdentities { get; } = [];

    /// <summary>
    /// The batch as the store writes it: typed puts and deletes, table by table in
    /// <see cref="StoreTables.All"/>'s order, puts before deletes within a table.
    /// </summary>
    public IEnumerable<Change> Changes()
    {
        foreach (var c in Clusters) yield return StoreTables.Clusters.Put(c);
        foreach (var name in DeletedClusters) yield return StoreTables.Clusters.Delete(name);
        foreach (var d in TaskDefinitions) yield return StoreTables.TaskDefinitions.Put(d);
        foreach (var n in Nodes) yield return StoreTables.Nodes.Put(n);
        foreach (var key in DeletedNodes) yield return StoreTables.Nodes.Delete(key);
        foreach (var t in Tasks) yield return StoreTables.Tasks.Put(t);
        foreach (var id in DeletedTasks) yield return StoreTables.Tasks.Delete(id);
        foreach (var service in Services) yield return StoreTables.Services.Put(service);
        foreach (var key in DeletedServices) yield return StoreTables.Services.Delete(key);
        foreach (var r in Receipts) yield return StoreTables.Receipts.Put(r);
        foreach (var key in DeletedReceipts) yield return StoreTables.Receipts.Delete(key);
        foreach (var t in Tokens) yield return StoreTables.Tokens.Put(t);
        foreach (var j in JoinTokens) yield return StoreTables.JoinTokens.Put(j);
        foreach (var n in NodeIdentities) yield return StoreTables.NodeIdentities.Put(n);
    }

    public bool IsEmpty =>
        Clusters.Count + DeletedClusters.Count + TaskDefinitions.Count + Nodes.Count + DeletedNodes.Count
        + Tasks.Count + DeletedTasks.Count + Services.Count + DeletedServices.Count + Receipts.Count + DeletedReceipts.Count
        + Tokens.Count + JoinTokens.Count + NodeIdentities.Count == 0;
}

/// <summary>
/// The remembered answer of a RunTask with a client token, so a retry returns it instead of starting
/// more tasks. <see cref="RequestHash"/> tells a true retry from a different request with a reused token.
/// </summary>
internal sealed record RunTaskReceipt(
    string Key,
    string RequestHash,
    IReadOnlyList<string> TaskIds,
    IReadOnlyList<ReceiptFailure> Failures,
    DateTimeOffset CreatedAt)
{
    public static string KeyOf(string cluster, string clientToken) => $"{cluster}/{clientToken}";
}

internal sealed record ReceiptFailure(string Subject, string Reason, string Detail);

/// <summary>Everything the store holds, as read at start.</summary>
/// <param name="IsNew">The file did not exist before this start.</param>
/// <param name="Version">The store's version: 0 for a new store, one more with each commit.</param>
internal sealed record StoredState(
    bool IsNew,
    IReadOnlyList<ClusterRecord> Clusters,
    IReadOnlyList<TaskDefinitionRecord> TaskDefinitions,
    IReadOnlyList<NodeRecord> Nodes,
    IReadOnlyList<TaskRecord> Tasks,
    IReadOnlyList<ServiceRecord> Services,
    IReadOnlyList<RunTaskReceipt> Receipts,
    IReadOnlyList<ApiTokenRecord>? Tokens = null,
    JoinTokenRecord? JoinToken = null,
    IReadOnlyList<NodeIdentityRecord>? NodeIdentities = null,
    long Version = 0)
{
    /// <summary>The records of every table, as a store read them, typed.</summary>
    public static StoredState From(bool isNew, long version, IReadOnlyDictionary<StoreTable, IReadOnlyList<object>> tables)
    {
        List<T> Of<T>(StoreTable<T> table) where T : class => [.. tables.GetValueOrDefault(table, []).Cast<T>()];
        return new StoredState(
            isNew,
            Of(StoreTables.Clusters),
            Of(StoreTables.TaskDefinitions),
            Of(StoreTables.Nodes),
            Of(StoreTables.Tasks),
            Of(StoreTables.Services),
            Of(StoreTables.Receipts),
            Of(StoreTables.Tokens),
            Of(StoreTables.JoinTokens).SingleOrDefault(),
            Of(StoreTables.NodeIdentities),
            version);
    }
}
