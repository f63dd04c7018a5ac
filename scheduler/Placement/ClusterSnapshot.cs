using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement.Constraints;
using Orchestrator.Scheduler.Placement.Index;

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
    /// <summary>What the node's agent lets tasks do; only tasks that need something look at it.</summary>
    public NodePolicy Policy { get; init; } = NodePolicy.None;

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
    private FitIndex? _fitIndex;

    /// <summary>Kept in chunks, so that <see cref="WithNodes"/> copies only the chunks that change.</summary>
    public IReadOnlyList<NodeSnapshot> Nodes { get; } = ChunkedList<NodeSnapshot>.From(Nodes);

    /// <summary>Where the node of this name is in <see cref="Nodes"/> (ordered by name, ordinal), by binary search; -1 when absent.</summary>
    public int IndexOf(string name)
    {
        int low = 0, high = Nodes.Count - 1;
        while (low <= high)
        {
            var mid = (low + high) / 2;
            var order = string.CompareOrdinal(Nodes[mid].Name, name);
            if (order == 0)
            {
                return mid;
            }

            if (order < 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return -1;
    }

    /// <summary>The numbers the node scan reads, as flat columns; built once per snapshot, on first use.</summary>
    public SnapshotColumns Columns => _columns ??= new SnapshotColumns(Nodes);

    /// <summary>The available nodes ordered by what they have left; built on first use, then patched.</summary>
    public FitIndex FitIndex => _fitIndex ??= FitIndex.Build(Nodes);

    /// <summary>
    /// The same cluster with some nodes replaced (same names, same order). The node list, its columns
    /// and its index are the old ones patched, not rebuilt: after each RunTask only the nodes it used
    /// change, and the patch costs O(√nodes) per changed node, not O(nodes).
    /// </summary>
    public ClusterSnapshot WithNodes(IReadOnlyList<(int Index, NodeSnapshot Node)> changes)
    {
        var nodes = ChunkedList<NodeSnapshot>.From(Nodes).With(changes, c => c.Index, c => c.Node);
        var next = new ClusterSnapshot(nodes, DynamicPorts);
        if (_columns is not null)
        {
            next._columns = _columns.With(changes);
        }

        if (_fitIndex is not null)
        {
            next._fitIndex = _fitIndex.With(Nodes, changes);
        }

        return next;
    }
}

/// <summary>
/// A snapshot's capacities as columns. The node scan looks at every node for every task, so it copies
/// these into flat arrays instead of walking node records. What changes with every task is chunked, so
/// that a patched snapshot shares every chunk that did not change; the totals, which almost never
/// change, are flat arrays shared as they are.
/// </summary>
internal sealed class SnapshotColumns
{
    public SnapshotColumns(IReadOnlyList<NodeSnapshot> nodes)
    {
        TotalCpu = [.. nodes.Select(n => n.TotalCpu)];
        TotalMemory = [.. nodes.Select(n => n.TotalMemory)];
        RemainingCpu = ChunkedList<int>.From([.. nodes.Select(n => n.RemainingCpu)]);
        RemainingMemory = ChunkedList<int>.From([.. nodes.Select(n => n.RemainingMemory)]);
        Availability = ChunkedList<RejectReason>.From([.. nodes.Select(NodeAvailabilityFilter.Instance.Check)]);
    }

    private SnapshotColumns(SnapshotColumns source, IReadOnlyList<(int Index, NodeSnapshot Node)> changes)
    {
        // Capacities change only when a node registers again with other figures: share them until then.
        var resized = changes.Any(c => c.Node.TotalCpu != source.TotalCpu[c.Index] || c.Node.TotalMemory != source.TotalMemory[c.Index]);
        TotalCpu = resized ? Patched(source.TotalCpu, changes, n => n.TotalCpu) : source.TotalCpu;
        TotalMemory = resized ? Patched(source.TotalMemory, changes, n => n.TotalMemory) : source.TotalMemory;
        RemainingCpu = source.RemainingCpu.With(changes, c => c.Index, c => c.Node.RemainingCpu);
        RemainingMemory = source.RemainingMemory.With(changes, c => c.Index, c => c.Node.RemainingMemory);
        Availability = source.Availability.With(changes, c => c.Index, c => NodeAvailabilityFilter.Instance.Check(c.Node));
    }

    /// <summary>What <see cref="NodeAvailabilityFilter"/> says of each node, decided once per snapshot.</summary>
    public ChunkedList<RejectReason> Availability { get; }

    /// <summary>Shared by every snapshot and workspace until a capacity changes: read only.</summary>
    public int[] TotalCpu { get; }

    /// <summary>Shared by every snapshot and workspace until a capacity changes: read only.</summary>
    public int[] TotalMemory { get; }
    public ChunkedList<int> RemainingCpu { get; }
    public ChunkedList<int> RemainingMemory { get; }

    public SnapshotColumns With(IReadOnlyList<(int Index, NodeSnapshot Node)> changes) => new(this, changes);

    private static int[] Patched(int[] column, IReadOnlyList<(int Index, NodeSnapshot Node)> changes, Func<NodeSnapshot, int> valueOf)
    {
        var copy = (int[])column.Clone();
        foreach (var (index, node) in changes)
        {
            copy[index] = valueOf(node);
        }

        return copy;
    }
}
