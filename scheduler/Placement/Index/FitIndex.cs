namespace Orchestrator.Scheduler.Placement.Index;

/// <summary>
/// The nodes that can take tasks (ACTIVE, agent connected), ordered by what they have left, so that
/// the fit strategies find their best node by walking from the smallest node that could fit instead of
/// scoring every node. Immutable like its snapshot: a patched snapshot gets a patched index, O(√n) per
/// changed node.
/// </summary>
internal sealed class FitIndex
{
    private FitIndex(SortedBlocks byCpu, SortedBlocks byMemory, FitShape[] byFit, int oddNodes)
    {
        ByCpu = byCpu;
        ByMemory = byMemory;
        ByFit = byFit;
        OddNodes = oddNodes;
    }

    /// <summary>Keyed by remaining cpu: binpack(cpu) walks it.</summary>
    public SortedBlocks ByCpu { get; }

    /// <summary>Keyed by remaining memory: binpack(memory) walks it.</summary>
    public SortedBlocks ByMemory { get; }

    /// <summary>One ordering per node size, for the combined fit (see <see cref="FitShape"/>).</summary>
    public IReadOnlyList<FitShape> ByFit { get; }

    /// <summary>
    /// Available nodes the orderings leave out because the bounds of the walks do not hold for them
    /// (negative usage or capacity, which registration and task accounting never produce). While there
    /// is one, placement scans every node.
    /// </summary>
    public int OddNodes { get; }

    public static FitIndex Build(IReadOnlyList<NodeSnapshot> nodes)
    {
        var byCpu = new List<IndexEntry>(nodes.Count);
        var byMemory = new List<IndexEntry>(nodes.Count);
        var byShape = new Dictionary<(int, int), List<IndexEntry>>();
        var odd = 0;
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            switch (KindOf(node))
            {
                case Membership.Out:
                    continue;
                case Membership.Odd:
                    odd++;
                    continue;
            }

            byCpu.Add(CpuEntry(i, node));
            byMemory.Add(MemoryEntry(i, node));
            var shape = (node.TotalCpu, node.TotalMemory);
            if (!byShape.TryGetValue(shape, out var entries))
            {
                byShape[shape] = entries = [];
            }

            entries.Add(FitShape.EntryOf(i, node));
        }

        FitShape[] shapes = [.. byShape.OrderBy(s => s.Key).Select(s => new FitShape(s.Key.Item1, s.Key.Item2, SortedBlocks.Build(s.Value)))];
        return new FitIndex(SortedBlocks.Build(byCpu), SortedBlocks.Build(byMemory), shapes, odd);
    }

    /// <summary>The index of the snapshot with <paramref name="changes"/> applied over <paramref name="before"/>.</summary>
    public FitIndex With(IReadOnlyList<NodeSnapshot> before, IReadOnlyList<(int Index, NodeSnapshot Node)> changes)
    {
        var byCpu = ByCpu;
        var byMemory = ByMemory;
        var byFit = ByFit.ToList();
        var odd = OddNodes;
        // The same node may change twice in one patch: its second change removes what the first added.
        var patched = new Dictionary<int, NodeSnapshot>();
        foreach (var (index, node) in changes)
        {
            var old = patched.TryGetValue(index, out var earlier) ? earlier : before[index];
            switch (KindOf(old))
            {
                case Membership.In:
                    byCpu = byCpu.Remove(CpuEntry(index, old));
                    byMemory = byMemory.Remove(MemoryEntry(index, old));
                    var at = ShapeAt(byFit, old.TotalCpu, old.TotalMemory);
                    byFit[at] = byFit[at].Without(index, old);
                    if (byFit[at].Nodes.Count == 0)
                    {
                        byFit.RemoveAt(at);
                    }

                    break;
                case Membership.Odd:
                    odd--;
                    break;
            }

            switch (KindOf(node))
            {
                case Membership.In:
                    byCpu = byCpu.Add(CpuEntry(index, node));
                    byMemory = byMemory.Add(MemoryEntry(index, node));
                    var at = ShapeAt(byFit, node.TotalCpu, node.TotalMemory);
                    if (at < 0)
                    {
                        at = ~at;
                        byFit.Insert(at, new FitShape(node.TotalCpu, node.TotalMemory, SortedBlocks.Empty));
                    }

                    byFit[at] = byFit[at].With(index, node);
                    break;
                case Membership.Odd:
                    odd++;
                    break;
            }

            patched[index] = node;
        }

        return new FitIndex(byCpu, byMemory, [.. byFit], odd);
    }

    private enum Membership
    {
        Out,
        In,
        Odd,
    }

    private static Membership KindOf(NodeSnapshot node)
    {
        if (NodeAvailabilityFilter.Instance.Check(node) != RejectReason.None)
        {
            return Membership.Out;
        }

        return node.TotalCpu <= 0 || node.TotalMemory <= 0 || node.UsedCpu < 0 || node.UsedMemory < 0
            ? Membership.Odd
            : Membership.In;
    }

    private static IndexEntry CpuEntry(int index, NodeSnapshot node) => new(node.RemainingCpu, index, node.RemainingCpu, node.RemainingMemory);

    private static IndexEntry MemoryEntry(int index, NodeSnapshot node) => new(node.RemainingMemory, index, node.RemainingCpu, node.RemainingMemory);

    /// <summary>Where the shape is in the list ordered by (cpu, memory); its complement where it would go.</summary>
    private static int ShapeAt(List<FitShape> shapes, int totalCpu, int totalMemory)
    {
        int low = 0, high = shapes.Count - 1;
        while (low <= high)
        {
            var mid = (low + high) / 2;
            var order = (shapes[mid].TotalCpu, shapes[mid].TotalMemory).CompareTo((totalCpu, totalMemory));
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

        return ~low;
    }
}

/// <summary>
/// The nodes of one size (total cpu, total memory), keyed by cpuLeft × totalMemory + memoryLeft ×
/// totalCpu: the sum of the fractions left, scaled to an exact integer. Within one size a task's fit
/// score 10^a + 10^b (a, b the fractions left after it) is convex, so it is at least 2 × 10^((a+b)/2),
/// and a + b grows with the key: a walk in key order can stop once that bound passes the best found.
/// </summary>
internal sealed record FitShape(int TotalCpu, int TotalMemory, SortedBlocks Nodes)
{
    public static IndexEntry EntryOf(int index, NodeSnapshot node) =>
        new(((long)node.RemainingCpu * node.TotalMemory) + ((long)node.RemainingMemory * node.TotalCpu), index, node.RemainingCpu, node.RemainingMemory);

    public FitShape With(int index, NodeSnapshot node) => this with { Nodes = Nodes.Add(EntryOf(index, node)) };

    public FitShape Without(int index, NodeSnapshot node) => this with { Nodes = Nodes.Remove(EntryOf(index, node)) };
}
