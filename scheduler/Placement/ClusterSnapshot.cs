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
internal sealed record ClusterSnapshot(IReadOnlyList<NodeSnapshot> Nodes, PortRange DynamicPorts)
{
    private SnapshotColumns? _columns;

    /// <summary>The numbers placement scans, as flat arrays; built once per snapshot, on first use.</summary>
    public SnapshotColumns Columns => _columns ??= new SnapshotColumns(Nodes);

    /// <summary>
    /// The same cluster with some nodes replaced (same names, same order). Its columns are the old
    /// ones copied and patched, not rebuilt: after each RunTask only the nodes it used change.
    /// </summary>
    public ClusterSnapshot WithNodes(IReadOnlyList<(int Index, NodeSnapshot Node)> changes)
    {
        var nodes = Nodes.ToArray();
        foreach (var (index, node) in changes)
        {
            nodes[index] = node;
        }

        var next = new ClusterSnapshot(nodes, DynamicPorts);
        if (_columns is not null)
        {
            next._columns = _columns.With(changes);
        }

        return next;
    }
}

/// <summary>
/// A snapshot's capacities as arrays. Placement looks at every node for every task, so it reads these
/// cache-friendly columns instead of walking node records.
/// </summary>
internal sealed class SnapshotColumns
{
    public SnapshotColumns(IReadOnlyList<NodeSnapshot> nodes)
    {
        var n = nodes.Count;
        TotalCpu = new int[n];
        TotalMemory = new int[n];
        RemainingCpu = new int[n];
        RemainingMemory = new int[n];
        Availability = new RejectReason[n];
        for (var i = 0; i < n; i++)
        {
            Set(i, nodes[i]);
        }
    }

    private SnapshotColumns(SnapshotColumns source)
    {
        TotalCpu = (int[])source.TotalCpu.Clone();
        TotalMemory = (int[])source.TotalMemory.Clone();
        RemainingCpu = (int[])source.RemainingCpu.Clone();
        RemainingMemory = (int[])source.RemainingMemory.Clone();
        Availability = (RejectReason[])source.Availability.Clone();
    }

    /// <summary>What <see cref="NodeAvailabilityFilter"/> says of each node, decided once per snapshot.</summary>
    public RejectReason[] Availability { get; }

    public int[] TotalCpu { get; }
    public int[] TotalMemory { get; }
    public int[] RemainingCpu { get; }
    public int[] RemainingMemory { get; }

    public SnapshotColumns With(IReadOnlyList<(int Index, NodeSnapshot Node)> changes)
    {
        var next = new SnapshotColumns(this);
        foreach (var (index, node) in changes)
        {
            next.Set(index, node);
        }

        return next;
    }

    private void Set(int i, NodeSnapshot node)
    {
        TotalCpu[i] = node.TotalCpu;
        TotalMemory[i] = node.TotalMemory;
        RemainingCpu[i] = node.RemainingCpu;
        RemainingMemory[i] = node.RemainingMemory;
        Availability[i] = NodeAvailabilityFilter.Instance.Check(node);
    }
}
