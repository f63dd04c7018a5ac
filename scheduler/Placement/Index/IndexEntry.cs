namespace Orchestrator.Scheduler.Placement.Index;

/// <summary>
/// One node in an ordering of <see cref="FitIndex"/>: the key it is ordered by, and its remaining
/// resources, so that a walk can test fit and score without reading the node's record.
/// </summary>
internal readonly record struct IndexEntry(long Key, int Node, int RemainingCpu, int RemainingMemory)
    : IComparable<IndexEntry>
{
    // The node breaks key ties, so every entry has one place and can be found again to be removed.
    public int CompareTo(IndexEntry other)
    {
        var byKey = Key.CompareTo(other.Key);
        return byKey != 0 ? byKey : Node.CompareTo(other.Node);
    }
}
