namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Scores a node for the next task; lower is better. Strategies chain: the engine compares the
/// first scorer's values and only asks the next one to break ties.
/// </summary>
internal interface IPlacementScorer
{
    /// <summary>
    /// True when a node's score depends only on that node's own state: the engine then keeps it between
    /// tasks and recomputes it only for the node that just took a task.
    /// </summary>
    bool NodeLocal { get; }

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

    public bool NodeLocal => true;

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) =>
        workspace.RemainingCpu[node] - workspace.Cpu;
}

/// <summary>ECS binpack on memory: the node that would have the least memory left.</summary>
internal sealed class BinpackMemoryScorer : IPlacementScorer
{
    public static readonly BinpackMemoryScorer Instance = new();

    public bool NodeLocal => true;

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) =>
        workspace.RemainingMemory[node] - workspace.Memory;
}

/// <summary>
/// The default: pack on cpu and memory together with Nomad's best-fit score,
/// 10^freeCpu + 10^freeMem over the fractions left free. The sum is smallest where little is left,
/// and because it is convex it prefers nodes whose two dimensions fill evenly, so that neither
/// cpu nor memory is stranded. 10^x comes from a table (<see cref="Pow10Table"/>): Math.Exp was
/// three quarters of the cost of scanning a node.
/// </summary>
internal sealed class CombinedFitScorer : IPlacementScorer
{
    public static readonly CombinedFitScorer Instance = new();

    public bool NodeLocal => true;

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) =>
        Fit(workspace.RemainingCpu[node], workspace.RemainingMemory[node], workspace.TotalCpu[node], workspace.TotalMemory[node], workspace.Cpu, workspace.Memory);

    /// <summary>The score itself, shared with the indexed path so that both compute the same doubles.</summary>
    public static double Fit(int remainingCpu, int remainingMemory, int totalCpu, int totalMemory, int cpu, int memory)
    {
        // Nodes register with cpu and memory above zero, so the divisions are safe.
        var freeCpu = (double)(remainingCpu - cpu) / totalCpu;
        var freeMemory = (double)(remainingMemory - memory) / totalMemory;
        return Pow10Table.Of(freeCpu) + Pow10Table.Of(freeMemory);
    }
}

/// <summary>ECS spread over instanceId: the node with the fewest tasks of the group.</summary>
internal sealed class SpreadNodeScorer : IPlacementScorer
{
    public static readonly SpreadNodeScorer Instance = new();

    public bool NodeLocal => true;

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

    /// <summary>A task on one node changes the score of every node with the same value.</summary>
    public bool NodeLocal => false;

    public double Score(PlacementWorkspace workspace, int node, int taskOrdinal) => _tasksPerValue[_valueOfNode[node]];

    public void OnPlaced(PlacementWorkspace workspace, int node) => _tasksPerValue[_valueOfNode[node]]++;
}

/// <summary>ECS random: a seeded draw per (task, node), so a run repeats exactly for the same seed.</summary>
internal sealed class RandomScorer(ulong seed) : IPlacementScorer
{
    /// <summary>A new draw for every task.</summary>
    public bool NodeLocal => false;

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

/// <summary>
/// 10^x for x in [0, 1] by linear interpolation over 1,024 steps. Piecewise-linear interpolation of a
/// convex increasing function is itself convex and increasing, so the fit score keeps its shape; the
/// error is below 1e-6.
/// </summary>
internal static class Pow10Table
{
    private const int Steps = 1024;
    private static readonly double[] Table = [.. Enumerable.Range(0, Steps + 2).Select(i => Math.Pow(10, (double)i / Steps))];

    public static double Of(double x)
    {
        var position = Math.Clamp(x, 0, 1) * Steps;
        var index = (int)position;
        var below = Table[index];
        return below + ((Table[index + 1] - below) * (position - index));
    }
}
