using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// A filter that depends only on the node and the request, not on what this call has placed:
/// it runs once per node per call.
/// </summary>
internal interface IStaticFilter
{
    RejectReason Check(NodeSnapshot node);
}

/// <summary>A filter that must be checked again for every task, as placements use the node up.</summary>
internal interface IDynamicFilter
{
    RejectReason Check(PlacementWorkspace workspace, int node);
}

/// <summary>Only ACTIVE nodes whose agent is connected take new tasks.</summary>
internal sealed class NodeAvailabilityFilter : IStaticFilter
{
    public static readonly NodeAvailabilityFilter Instance = new();

    public RejectReason Check(NodeSnapshot node) => node.Status switch
    {
        NodeState.Inactive => RejectReason.Inactive,
        NodeState.Draining => RejectReason.Draining,
        _ when !node.Connected => RejectReason.Disconnected,
        _ => RejectReason.None,
    };
}

internal sealed class MemberOfFilter(MemberOfConstraint constraint) : IStaticFilter
{
    public MemberOfConstraint Constraint { get; } = constraint;

    public RejectReason Check(NodeSnapshot node) =>
        Constraint.Expression.Matches(node) ? RejectReason.None : RejectReason.MemberOf;
}

internal sealed class DistinctInstanceFilter : IDynamicFilter
{
    public static readonly DistinctInstanceFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node) =>
        workspace.GroupTasks[node] > 0 ? RejectReason.DistinctInstance : RejectReason.None;
}

internal sealed class CpuFilter : IDynamicFilter
{
    public static readonly CpuFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node) =>
        workspace.RemainingCpu[node] < workspace.Cpu ? RejectReason.Cpu : RejectReason.None;
}

internal sealed class MemoryFilter : IDynamicFilter
{
    public static readonly MemoryFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node) =>
        workspace.RemainingMemory[node] < workspace.Memory ? RejectReason.Memory : RejectReason.None;
}

/// <summary>Every static host port free, and room in the dynamic range for the dynamic ones.</summary>
internal sealed class PortFilter : IDynamicFilter
{
    public static readonly PortFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node)
    {
        var demand = workspace.Demand;
        foreach (var port in demand.Ports)
        {
            if (port.HostPort != 0 && workspace.IsPortInUse(node, new HostPortKey(port.HostPort, port.Protocol).Key))
            {
                return RejectReason.Ports;
            }
        }

        var dynamic = demand.DynamicPortCount;
        if (dynamic > 0 && workspace.Snapshot.DynamicPorts.Size - workspace.DynamicPortsUsed[node] < dynamic)
        {
            return RejectReason.Ports;
        }

        return RejectReason.None;
    }
}
