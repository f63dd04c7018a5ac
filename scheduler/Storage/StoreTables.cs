using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// One kind of record the store keeps: its table's name (a LiteDB collection, an etcd key prefix),
/// its record type, and how a record names its key. Stores work on tables, never on record types, so
/// that a store (LiteDB, memory, etcd) is written once for every kind of record.
/// </summary>
internal abstract class StoreTable(string name, Type recordType)
{
    public string Name { get; } = name;
    public Type RecordType { get; } = recordType;

    public abstract string KeyOf(object record);
}

internal sealed class StoreTable<T>(string name, Func<T, string> key) : StoreTable(name, typeof(T))
    where T : class
{
    public override string KeyOf(object record) => key((T)record);

    public Change Put(T record) => new(this, key(record), record);

    public Change Delete(string recordKey) => new(this, recordKey, null);
}

/// <summary>One change of a change set: the record put under its key, or, with no record, the key deleted.</summary>
internal readonly record struct Change(StoreTable Table, string Key, object? Record)
{
    public bool IsDelete => Record is null;
}

/// <summary>Every table, registered once, in the order a change set writes them.</summary>
internal static class StoreTables
{
    public static readonly StoreTable<ClusterRecord> Clusters = new("clusters", c => c.Name);
    public static readonly StoreTable<TaskDefinitionRecord> TaskDefinitions = new("task_definitions", d => d.Arn);
    public static readonly StoreTable<NodeRecord> Nodes = new("nodes", n => n.Key);
    public static readonly StoreTable<TaskRecord> Tasks = new("tasks", t => t.Id);
    public static readonly StoreTable<ServiceRecord> Services = new("services", s => s.Key);
    public static readonly StoreTable<RunTaskReceipt> Receipts = new("run_task_receipts", r => r.Key);
    public static readonly StoreTable<ApiTokenRecord> Tokens = new("api_tokens", t => t.Id);
    public static readonly StoreTable<JoinTokenRecord> JoinTokens = new("join_tokens", _ => JoinTokenRecord.Key);
    public static readonly StoreTable<NodeIdentityRecord> NodeIdentities = new("node_identities", n => n.Key);

    public static readonly IReadOnlyList<StoreTable> All =
        [Clusters, TaskDefinitions, Nodes, Tasks, Services, Receipts, Tokens, JoinTokens, NodeIdentities];
}
