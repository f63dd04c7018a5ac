namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// What is durable about a node. Whether its agent is connected and when it last sent a heartbeat
/// are not stored: after a scheduler restart every node is disconnected until its agent comes back.
/// </summary>
internal sealed record NodeRecord(
    string Cluster,
    string Name,
    NodeState Status,
    int TotalCpu,
    int TotalMemory,
    IReadOnlyDictionary<string, string> Attributes,
    string AgentVersion,
    DateTimeOffset RegisteredAt)
{
    public string Key => KeyOf(Cluster, Name);

    public static string KeyOf(string cluster, string name) => $"{cluster}/{name}";

    /// <summary>
    /// The same node as <paramref name="other"/>, attributes compared by content (record equality compares
    /// the dictionaries by reference), so that an agent re-registering unchanged costs no write.
    /// </summary>
    public bool SameAs(NodeRecord? other) =>
        other is not null
        && this with { Attributes = other.Attributes } == other
        && Attributes.Count == other.Attributes.Count
        && Attributes.All(a => other.Attributes.TryGetValue(a.Key, out var value) && value == a.Value);
}
