using System.Collections.Frozen;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Benchmarks;

/// <summary>
/// A simulated cluster for placement benchmarks: identical nodes, seeded random task sizes, and the
/// same copy-on-change snapshot update the scheduler's state does after each placement.
/// </summary>
internal sealed class BenchCluster
{
    public const int NodeCpu = 16 * 1024;
    public const int NodeMemory = 64 * 1024;

    private static readonly FrozenSet<int> NoPorts = FrozenSet<int>.Empty;
    private static readonly FrozenDictionary<string, int> NoGroups = FrozenDictionary<string, int>.Empty;


    public BenchCluster(int nodes)
    {
        var all = new NodeSnapshot[nodes];
        for (var i = 0; i < nodes; i++)
        {
            var attributes = new Dictionary<string, string> { ["zone"] = ((char)('a' + (i % 3))).ToString() };
            all[i] = new NodeSnapshot($"node-{i:D5}", NodeState.Active, true, NodeCpu, NodeMemory, 0, 0, NoPorts, attributes, NoGroups);
        }

        Snapshot = new ClusterSnapshot(all, PortRange.EcsDefault);
    }

    public ClusterSnapshot Snapshot { get; private set; }

    public IReadOnlyList<NodeSnapshot> Nodes => Snapshot.Nodes;

    /// <summary>
    /// Takes a placed task's resources and counts it in its group, patching the snapshot as the
    /// scheduler's state does after a RunTask.
    /// </summary>
    public void Apply(PlacementDecision decision, TaskResourceDemand demand, string group = "family:bench")
    {
        var node = Snapshot.Nodes[decision.NodeIndex];
        var groups = new Dictionary<string, int>(node.TasksByGroup) { [group] = node.TasksByGroup.GetValueOrDefault(group) + 1 };
        var updated = node with
        {
            UsedCpu = node.UsedCpu + demand.Cpu,
            UsedMemory = node.UsedMemory + demand.Memory,
            TasksByGroup = groups,
        };
        Snapshot = Snapshot.WithNodes([(decision.NodeIndex, updated)]);
    }

    /// <summary>A seeded mix of sizes, like a real fleet: mostly small, some large.</summary>
    public static TaskResourceDemand[] RandomDemands(int count, int seed)
    {
        var random = new Random(seed);
        int[] cpus = [128, 256, 256, 512, 512, 1024, 2048, 4096];
        int[] memories = [128, 256, 512, 512, 1024, 2048, 4096, 8192, 16384];
        return [.. Enumerable.Range(0, count).Select(_ => new TaskResourceDemand(cpus[random.Next(cpus.Length)], memories[random.Next(memories.Length)], []))];
    }
}
