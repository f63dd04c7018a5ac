using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement.Constraints;

namespace Orchestrator.Scheduler.Placement;

/// <summary>A node as placement sees it at one instant. Immutable.</summary>
internal sealed record NodeSnapshot(
    string Name,
    NodeState Status,
    bool Connected,
    int TotalCpu,
    int TotalMemory,
    int UsedCpu,
    int UsedMemory,
    IReadOnlySet<int> PortsInUse,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyDictionary<string, int> TasksByGroup) : INodeFacts
{
    public int RemainingCpu => TotalCpu - UsedCpu;
    public int RemainingMemory => TotalMemory - UsedMemory;
}

/// <summary>An inclusive range of host ports handed out as dynamic ports.</summary>
internal readonly record struct PortRange(int First, int Last)
{
    public static readonly PortRange EcsDefault = new(49153, 65535);

    public int Size => Last - First + 1;

    public bool Contains(int port) => port >= First && port <= Last;

    public override string ToString() => $"{First}-{Last}";
}

/// <summary>
/// The nodes of one cluster, ordered by name so that placement is deterministic for a given seed.
/// </summary>
internal sealed record ClusterSnapshot(IReadOnlyList<NodeSnapshot> Nodes, PortRange DynamicPorts);
