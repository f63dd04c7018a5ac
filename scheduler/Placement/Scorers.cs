namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Scores a node for the next task; lower is better. Strategies chain: the engine compares the
/// first scorer's values and only asks the next one to break ties.
/// </summary>
internal interface IPlacementScorer
{
    double Score(PlacementWorkspace workspace, int node, int taskOrdinal);

    /// <summary>Called after a task is placed, for scorers that keep counts of their own.</summary>
    void OnPlaced(PlacementWorkspace workspace, int node)
    {
    }
}

/// <summary>ECS binpack on cpu: the node that would have the least cpu left.</summary>
internal sealed class BinpackCpuScorer : IPlacementScorer
{
    public static readonly BinpackCpuScorer Instance = new();

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) =>
        workspace.RemainingCpu[node] - workspace.Demand.Cpu;
}

/// <summary>ECS binpack on memory: the node that would have the least memory left.</summary>
internal sealed class BinpackMemoryScorer : IPlacementScorer
{
    public static readonly BinpackMemoryScorer Instance = new();

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) =>
        workspace.RemainingMemory[node] - workspace.Demand.Memory;
}

/// <summary>
/// The default: pack on cpu and memory together with Nomad's best-fit score,
/// 10^freeCpu + 10^freeMem over the fractions left free. The sum is smallest where little is left,
/// and because it is convex it prefers nodes whose two dimensions fill evenly, so that neither
/// cpu nor memory is stranded.
/// </summary>
internal sealed class CombinedFitScorer : IPlacementScorer
{
    public static readonly CombinedFitScorer Instance = new();

    private const double Ln10 = 2.302585092994046;

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal)
    {
        var snapshot = workspace.Node(node);
        var freeCpu = snapshot.TotalCpu == 0 ? 0 : (double)(workspace.RemainingCpu[node] - workspace.Demand.Cpu) / snapshot.TotalCpu;
        var freeMemory = snapshot.TotalMemory == 0 ? 0 : (double)(workspace.RemainingMemory[node] - workspace.Demand.Memory) / snapshot.TotalMemory;
        return Math.Exp(freeCpu * Ln10) + Math.Exp(freeMemory * Ln10);
    }
}

/// <summary>ECS spread over instanceId: the node with the fewest tasks of the group.</summary>
internal sealed class SpreadNodeScorer : IPlacementScorer
{
    public static readonly SpreadNodeScorer Instance = new();

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) => workspace.GroupTasks[node];
}

/// <summary>
/// ECS spread over an attribute: the node whose attribute value has the fewest tasks of the group.
/// Nodes without the attribute form one value of their own.
/// </summary>
internal sealed class SpreadAttributeScorer : IPlacementScorer
{
    private readonly int[] _valueOfNode;
    private readonly int[] _tasksPerValue;

    public SpreadAttributeScorer(PlacementWorkspace workspace, string attribute)
    {
        var values = new Dictionary<string, int>(StringComparer.Ordinal);
        _valueOfNode = new int[workspace.NodeCount];
        for (var i = 0; i < workspace.NodeCount; i++)
        {
            var value = workspace.Node(i).Attributes.GetValueOrDefault(attribute) ?? "\0absent";
            if (!values.TryGetValue(value, out var index))
            {
                index = values.Count;
                values.Add(value, index);
            }

            _valueOfNode[i] = index;
        }

        // Every node counts toward its value, whether or not it can take this task: spreading over
        // zones must see the tasks already in a zone even on nodes that are full now.
        _tasksPerValue = new int[values.Count];
        for (var i = 0; i < workspace.NodeCount; i++)
        {
            _tasksPerValue[_valueOfNode[i]] += workspace.GroupTasks[i];
        }
    }

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) => _tasksPerValue[_valueOfNode[node]];

    public void OnPlaced(PlacementWorkspace workspace, int node) => _tasksPerValue[_valueOfNode[node]]++;
}

/// <summary>ECS random: a seeded draw per (task, node), so a run repeats exactly for the same seed.</summary>
internal sealed class RandomScorer(ulong seed) : IPlacementScorer
{
    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) =>
        SeededHash.Mix(seed ^ 0x9E3779B97F4A7C15UL, taskOrdinal, node) / (double)ulong.MaxValue;
}

/// <summary>SplitMix64 over (seed, task, node): cheap, well mixed and repeatable.</summary>
internal static class SeededHash
{
    public static ulong Mix(ulong seed, int taskOrdinal, int node)
    {
        var z = seed + ((ulong)(uint)taskOrdinal << 32 | (uint)node) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
