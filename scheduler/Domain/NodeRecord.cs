namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// What is durable about a node. Whether its agent is connected and when it last sent a heartbeat
/// are not stored: after a scheduler restart every node is disconnected until its agent comes back.
/// <see cref="Attributes"/> are the agent's own, replaced at every registration;
/// <see cref="CustomAttributes"/> are the operator's (PutAttributes), which registration keeps.
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
    public IReadOnlyDictionary<string, string> CustomAttributes { get; init; } = Domain.Tags.None;
    public IReadOnlyDictionary<string, string> Tags { get; init; } = Domain.Tags.None;

    /// <summary>
    /// The IP its agent's stream came from at its last registration (empty: unknown). Stored, so that a
    /// new leader or a restarted scheduler can tell balancers where the node's tasks are before the agent
    /// is back; an agent's host-address attribute or a task's own bind address wins over it.
    /// </summary>
    public string PeerAddress { get; init; } = "";

    /// <summary>What its agent lets tasks do, as it said at its last registration (compared by content).</summary>
    public NodePolicy Policy { get; init; } = NodePolicy.None;

    public string Key => KeyOf(Cluster, Name);

    /// <summary>What placement sees: the custom attributes with the agent's own over them.</summary>
    public IReadOnlyDictionary<string, string> AllAttributes() =>
        CustomAttributes.Count == 0 ? Attributes : Domain.Tags.With(CustomAttributes, Attributes);

    public static string KeyOf(string cluster, string name) => $"{cluster}/{name}";

    /// <summary>
    /// The same node as <paramref name="other"/>, attributes compared by content (record equality compares
    /// the dictionaries by reference), so that an agent re-registering unchanged costs no write.
    /// </summary>
    public bool SameAs(NodeRecord? other) =>
        other is not null
        && this with { Attributes = other.Attributes, CustomAttributes = other.CustomAttributes, Tags = other.Tags } == other
        && Domain.Tags.Same(Attributes, other.Attributes)
        && Domain.Tags.Same(CustomAttributes, other.CustomAttributes)
        && Domain.Tags.Same(Tags, other.Tags);
}
