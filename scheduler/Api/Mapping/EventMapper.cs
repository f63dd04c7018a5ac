using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

/// <summary>Cluster events on the wire, and their types value by value (nothing cast, as <see cref="WireEnums"/>).</summary>
internal static class EventMapper
{
    public static Contract.ClusterEvent ToWire(ClusterEventRecord e)
    {
        var wire = new Contract.ClusterEvent
        {
            Sequence = e.Sequence,
            Time = Timestamps.From(e.Time),
            Cluster = e.Cluster,
            Type = ToWire(e.Type),
            Node = e.Node,
            Service = e.Service,
            Deployment = e.Deployment,
            Task = e.Task,
            Message = e.Message,
            StopCode = WireEnums.ToWire(e.StopCode),
            StoppedReason = e.StoppedReason,
        };
        wire.Reasons.AddRange(e.Reasons);
        return wire;
    }

    public static Contract.EventType ToWire(ClusterEventType type) => type switch
    {
        ClusterEventType.NodeJoined => Contract.EventType.NodeJoined,
        ClusterEventType.NodeDisconnected => Contract.EventType.NodeDisconnected,
        ClusterEventType.NodeLost => Contract.EventType.NodeLost,
        ClusterEventType.NodeDraining => Contract.EventType.NodeDraining,
        ClusterEventType.DeploymentStarted => Contract.EventType.DeploymentStarted,
        ClusterEventType.DeploymentCompleted => Contract.EventType.DeploymentCompleted,
        ClusterEventType.DeploymentFailed => Contract.EventType.DeploymentFailed,
        ClusterEventType.DeploymentRolledBack => Contract.EventType.DeploymentRolledBack,
        ClusterEventType.ServiceSteadyState => Contract.EventType.ServiceSteadyState,
        ClusterEventType.UnableToPlace => Contract.EventType.UnableToPlace,
        ClusterEventType.TaskStopped => Contract.EventType.TaskStopped,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no such event type"),
    };

    /// <returns>Null for UNSPECIFIED or a value this scheduler does not know.</returns>
    public static ClusterEventType? ToDomain(Contract.EventType type) => type switch
    {
        Contract.EventType.NodeJoined => ClusterEventType.NodeJoined,
        Contract.EventType.NodeDisconnected => ClusterEventType.NodeDisconnected,
        Contract.EventType.NodeLost => ClusterEventType.NodeLost,
        Contract.EventType.NodeDraining => ClusterEventType.NodeDraining,
        Contract.EventType.DeploymentStarted => ClusterEventType.DeploymentStarted,
        Contract.EventType.DeploymentCompleted => ClusterEventType.DeploymentCompleted,
        Contract.EventType.DeploymentFailed => ClusterEventType.DeploymentFailed,
        Contract.EventType.DeploymentRolledBack => ClusterEventType.DeploymentRolledBack,
        Contract.EventType.ServiceSteadyState => ClusterEventType.ServiceSteadyState,
        Contract.EventType.UnableToPlace => ClusterEventType.UnableToPlace,
        Contract.EventType.TaskStopped => ClusterEventType.TaskStopped,
        _ => null,
    };
}
