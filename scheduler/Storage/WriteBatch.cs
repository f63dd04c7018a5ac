using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// Every change of one operation, written to the store in one transaction and only then applied to
/// memory. An operation either lands whole or not at all.
/// </summary>
internal sealed class WriteBatch
{
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
    IReadOnlyList<NodeIdentityRecord>? NodeIdentities = null);
