using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// Builds the <see cref="ChangeSet"/> of one operation: typed lists per table to add records and
/// deleted keys to (<c>batch.Tasks.Add(task)</c>, <c>batch.DeletedTasks.Add(id)</c>). Underneath it is
/// one <see cref="TableWrites"/> per table, so <see cref="ToChangeSet"/> and <see cref="From"/> are
/// written once for every table; the named lists are only the builder's convenience.
/// </summary>
internal sealed class WriteBatch
{
    private readonly Dictionary<StoreTable, TableWrites> _tables = [];

    /// <summary>Who decided these changes; an agent's report needs no command sent back for it.</summary>
    public State.ChangeOrigin Origin { get; init; } = State.ChangeOrigin.Scheduler;

    public List<ClusterRecord> Clusters => Puts(StoreTables.Clusters);
    public List<string> DeletedClusters => Deletes(StoreTables.Clusters);
    public List<TaskDefinitionRecord> TaskDefinitions => Puts(StoreTables.TaskDefinitions);
    public List<SecretRecord> Secrets => Puts(StoreTables.Secrets);
    public List<SecretValueRecord> SecretValues => Puts(StoreTables.SecretValues);
    public List<string> DeletedSecretValues => Deletes(StoreTables.SecretValues);
    public List<NodeRecord> Nodes => Puts(StoreTables.Nodes);
    public List<string> DeletedNodes => Deletes(StoreTables.Nodes);
    public List<TaskRecord> Tasks => Puts(StoreTables.Tasks);
    public List<string> DeletedTasks => Deletes(StoreTables.Tasks);
    public List<ServiceRecord> Services => Puts(StoreTables.Services);
    public List<string> DeletedServices => Deletes(StoreTables.Services);
    public List<RunTaskReceipt> Receipts => Puts(StoreTables.Receipts);
    public List<string> DeletedReceipts => Deletes(StoreTables.Receipts);
    public List<ApiTokenRecord> Tokens => Puts(StoreTables.Tokens);
    public List<JoinTokenRecord> JoinTokens => Puts(StoreTables.JoinTokens);
    public List<NodeIdentityRecord> NodeIdentities => Puts(StoreTables.NodeIdentities);
    public List<ClusterEventRecord> Events => Puts(StoreTables.Events);
    public List<string> DeletedEvents => Deletes(StoreTables.Events);

    /// <summary>The records the batch puts in a table; add to it.</summary>
    public List<T> Puts<T>(StoreTable<T> table) where T : class => ((TableWrites<T>)WritesOf(table)).Puts;

    /// <summary>The keys the batch deletes from a table; add to it.</summary>
    public List<string> Deletes(StoreTable table) => WritesOf(table).Deletes;

    public bool IsEmpty => _tables.Values.All(t => t.Count == 0);

    /// <summary>
    /// The batch as the store writes it: table by table in <see cref="StoreTables.All"/>'s order, puts
    /// before deletes within a table.
    /// </summary>
    public ChangeSet ToChangeSet()
    {
        var changes = new List<Change>();
        foreach (var table in StoreTables.All)
        {
            if (_tables.TryGetValue(table, out var writes))
            {
                changes.AddRange(writes.Changes());
            }
        }

        return changes.Count == 0 ? ChangeSet.Empty : new ChangeSet(changes);
    }

    /// <summary>A batch of a change set's changes (read from a store, or shipped from another scheduler).</summary>
    public static WriteBatch From(IEnumerable<Change> changes, State.ChangeOrigin origin = State.ChangeOrigin.Scheduler)
    {
        var batch = new WriteBatch { Origin = origin };
        foreach (var change in changes)
        {
            batch.WritesOf(change.Table).Add(change);
        }

        return batch;
    }

    private TableWrites WritesOf(StoreTable table)
    {
        if (!_tables.TryGetValue(table, out var writes))
        {
            _tables[table] = writes = table.NewWrites();
        }

        return writes;
    }
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
