using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The baseline: placement as one would first write it, a LINQ filter and sort over the nodes per task,
/// scoring the same best-fit as the engine's default. Same decisions, none of the engine's care.
/// </summary>
internal static class NaivePlacement
{
    public static int? Place(IReadOnlyList<NodeSnapshot> nodes, int cpu, int memory)
    {
        var best = nodes
            .Select((node, index) => (node, index))
            .Where(n => n.node.Connected && n.node.RemainingCpu >= cpu && n.node.RemainingMemory >= memory)
            .OrderBy(n => Math.Pow(10, (double)(n.node.RemainingCpu - cpu) / n.node.TotalCpu) + Math.Pow(10, (double)(n.node.RemainingMemory - memory) / n.node.TotalMemory))
            .Select(n => (int?)n.index)
            .FirstOrDefault();
        return best;
    }
}
