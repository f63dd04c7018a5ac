using System.Collections.Frozen;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// What a group of RunTasks has placed and not yet committed, seen over memory: each cluster's placement
/// snapshot with the group's tasks taken from it (immutable snapshots patched with
/// <see cref="ClusterSnapshot.WithNodes"/>, memory untouched), and the group's tasks and receipts, so
/// that a later request of the group neither takes an earlier one's room nor starts a token twice.
/// Only once the group's one change set is stored does memory change, by the one commit protocol.
/// </summary>
internal sealed class RunTaskScratch(Func<string, ClusterSnapshot> snapshotOf)
{
    private readonly Dictionary<string, ClusterSnapshot> _snapshots = new(StringComparer.Ordinal);

    public Dictionary<string, TaskRecord> Tasks { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, RunTaskReceipt> Receipts { get; } = new(StringComparer.Ordinal);

    /// <summary>The cluster as placement sees it: memory's snapshot less what the group took.</summary>
    public ClusterSnapshot SnapshotOf(string cluster) =>
        _snapshots.TryGetValue(cluster, out var snapshot) ? snapshot : snapshotOf(cluster);

    /// <summary>The tasks and receipt of one placed request, taken from the scratch view.</summary>
    public void Took(string cluster, IReadOnlyList<TaskRecord> tasks, RunTaskReceipt? receipt)
    {
        var snapshot = SnapshotOf(cluster);
        var changes = new List<(int Index, NodeSnapshot Node)>();
        foreach (var onNode in tasks.Where(t => TaskStateMachine.HoldsResources(t.LastStatus)).GroupBy(t => t.Node, StringComparer.Ordinal))
        {
            var index = snapshot.IndexOf(onNode.Key);
            if (index < 0)
            {
                throw new InvalidOperationException($"node {onNode.Key} was placed on but is not in its cluster's snapshot");
            }

            changes.Add((index, Taken(snapshot.Nodes[index], [.. onNode])));
        }

        _snapshots[cluster] = snapshot.WithNodes(changes);
        foreach (var task in tasks)
        {
            Tasks[task.Id] = task;
        }

        if (receipt is not null)
        {
            Receipts[receipt.Key] = receipt;
        }
    }

    /// <summary>The node as it will be with the tasks on it: what <see cref="NodeUsage"/> will count once they are applied.</summary>
    private static NodeSnapshot Taken(NodeSnapshot node, IReadOnlyList<TaskRecord> tasks)
    {
        var ports = new HashSet<int>(node.PortsInUse);
        var groups = new Dictionary<string, int>(node.TasksByGroup, StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            foreach (var port in task.HostPorts)
            {
                ports.Add(port.Key);
            }

            groups[task.Group] = groups.GetValueOrDefault(task.Group) + 1;
        }

        return node with
        {
            UsedCpu = node.UsedCpu + tasks.Sum(t => t.Cpu),
            UsedMemory = node.UsedMemory + tasks.Sum(t => t.Memory),
            PortsInUse = ports.ToFrozenSet(),
            TasksByGroup = groups.ToFrozenDictionary(StringComparer.Ordinal),
        };
    }
}
