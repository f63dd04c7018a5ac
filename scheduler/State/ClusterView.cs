using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>A cluster with counts, as the API shows it.</summary>
internal sealed record ClusterView(
    ClusterRecord Cluster,
    int RegisteredNodes,
    int ConnectedNodes,
    int RunningTasks,
    int PendingTasks,
    int ActiveServices);

/// <summary>A node with what the API shows beside its record.</summary>
internal sealed record NodeView(
    NodeRecord Record,
    bool Connected,
    DateTimeOffset? LastHeartbeatAt,
    int UsedCpu,
    int UsedMemory,
    IReadOnlyList<HostPortKey> PortsInUse,
    int RunningTasks,
    int PendingTasks);
