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
}
