using System.Text.Json.Serialization;

namespace Orchestrator.Scheduler.Domain;

/// <summary>What a cluster event tells of; stored by name, so values may be added but never renamed.</summary>
internal enum ClusterEventType
{
    NodeJoined,
    NodeDisconnected,
    NodeLost,
    NodeDraining,
    DeploymentStarted,
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentRolledBack,
    ServiceSteadyState,
    UnableToPlace,
    TaskStopped,
}

/// <summary>
/// One cluster event, written in the same commit as the change that caused it. <see cref="Sequence"/>
/// orders every event of every cluster; its key is the sequence zero-padded, so the store's key order
/// is the event order.
/// </summary>
internal sealed record ClusterEventRecord(long Sequence, DateTimeOffset Time, string Cluster, ClusterEventType Type, string Message)
{
    public string Node { get; init; } = "";
    public string Service { get; init; } = "";
    public string Deployment { get; init; } = "";
    public string Task { get; init; } = "";
    public IReadOnlyList<string> Reasons { get; init; } = [];
    public TaskStopCode StopCode { get; init; }
    public string StoppedReason { get; init; } = "";

    [JsonIgnore]
    public string Key => KeyOf(Sequence);

    public static string KeyOf(long sequence) => sequence.ToString("D19", System.Globalization.CultureInfo.InvariantCulture);
}
