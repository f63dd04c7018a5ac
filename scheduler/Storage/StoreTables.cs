using System.Text.Json;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// One kind of record the store keeps: its table's name (a LiteDB collection, an etcd key prefix),
/// its record type, how a record names its key, and how a record is written (<see cref="StoreJson"/>).
/// Stores, change sets and the stored state work on tables, never on record types, so that each is
/// written once for every kind of record.
/// </summary>
internal abstract class StoreTable(string name, Type recordType)
{
    public string Name { get; } = name;
    public Type RecordType { get; } = recordType;

    public abstract string KeyOf(object record);

    /// <summary>The record as every store writes it.</summary>
    public string Write(object record) => JsonSerializer.Serialize(record, RecordType, StoreJson.Options);

    /// <exception cref="JsonException">The text is not a record of this table.</exception>
    public object Read(string json, string key) =>
        JsonSerializer.Deserialize(json, RecordType, StoreJson.Options) ?? throw new JsonException($"empty record {key} in {Name}");

    /// <summary>An empty list of this table's records, typed, for a batch to fill.</summary>
    internal abstract TableWrites NewWrites();

    public override string ToString() => Name;
}

internal sealed class StoreTable<T>(string name, Func<T, string> key) : StoreTable(name, typeof(T))
    where T : class
{
    public override string KeyOf(object record) => key((T)record);

    public string KeyOf(T record) => key(record);

    public Change Put(T record) => new(this, key(record), record);

    public Change Delete(string recordKey) => new(this, recordKey, null);

    internal override TableWrites NewWrites() => new TableWrites<T>(this);
}

/// <summary>One change of a change set: the record put under its key, or, with no record, the key deleted.</summary>
internal readonly record struct Change(StoreTable Table, string Key, object? Record)
{
    public bool IsDelete => Record is null;
}

/// <summary>
/// Every table, registered once, in the order a change set writes them (a node before the tasks on it).
/// A new kind of record is its record type and one line here; the stores, change sets and the stored
/// state need no edit for it.
/// </summary>
internal static class StoreTables
{
    // Declared before the tables: static fields are set in the order they are written.
    private static readonly List<StoreTable> Registered = [];

    public static readonly StoreTable<ClusterRecord> Clusters = Register<ClusterRecord>("clusters", c => c.Name);
    public static readonly StoreTable<TaskDefinitionRecord> TaskDefinitions = Register<TaskDefinitionRecord>("task_definitions", d => d.Arn);
    public static readonly StoreTable<SecretRecord> Secrets = Register<SecretRecord>("secrets", s => s.Name);
    public static readonly StoreTable<SecretValueRecord> SecretValues = Register<SecretValueRecord>("secret_values", v => v.Key);
    public static readonly StoreTable<NodeRecord> Nodes = Register<NodeRecord>("nodes", n => n.Key);
    public static readonly StoreTable<TaskRecord> Tasks = Register<TaskRecord>("tasks", t => t.Id);
    public static readonly StoreTable<TargetGroupRecord> TargetGroups = Register<TargetGroupRecord>("target_groups", g => g.Name);
    public static readonly StoreTable<ServiceRecord> Services = Register<ServiceRecord>("services", s => s.Key);
    public static readonly StoreTable<RunTaskReceipt> Receipts = Register<RunTaskReceipt>("run_task_receipts", r => r.Key);
    public static readonly StoreTable<ApiTokenRecord> Tokens = Register<ApiTokenRecord>("api_tokens", t => t.Id);
    public static readonly StoreTable<JoinTokenRecord> JoinTokens = Register<JoinTokenRecord>("join_tokens", _ => JoinTokenRecord.Key);
    public static readonly StoreTable<NodeIdentityRecord> NodeIdentities = Register<NodeIdentityRecord>("node_identities", n => n.Key);
    public static readonly StoreTable<ClusterEventRecord> Events = Register<ClusterEventRecord>("cluster_events", e => e.Key);

    public static readonly IReadOnlyList<StoreTable> All = Registered;

    private static readonly Dictionary<string, StoreTable> ByName = Registered.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>The table of that name, as a change set read from bytes names it.</summary>
    public static StoreTable Named(string name) =>
        ByName.TryGetValue(name, out var table) ? table : throw new JsonException($"no table is named \"{name}\"");

    private static StoreTable<T> Register<T>(string name, Func<T, string> key) where T : class
    {
        var table = new StoreTable<T>(name, key);
        Registered.Add(table);
        return table;
    }
}
