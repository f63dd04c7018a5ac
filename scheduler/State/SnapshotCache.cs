using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Keeps each cluster's placement snapshot between RunTasks and patches it where nodes changed, so a
/// RunTask on a large cluster copies arrays rather than rebuilding every node's picture.
/// </summary>
internal sealed class SnapshotCache(PortRange dynamicPorts)
{
    private readonly Dictionary<string, ClusterSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _changed = new(StringComparer.Ordinal);

    /// <summary>A node's usage, status or connection changed; the cluster's nodes are the same.</summary>
    public void NodeChanged(string cluster, string node)
    {
        if (!_snapshots.ContainsKey(cluster))
        {
            return;
        }

        if (!_changed.TryGetValue(cluster, out var names))
        {
            _changed[cluster] = names = new HashSet<string>(StringComparer.Ordinal);
        }

        names.Add(node);
    }

    /// <summary>A node joined or left, or the cluster went: the next snapshot is built anew.</summary>
    public void MembershipChanged(string cluster)
    {
        _snapshots.Remove(cluster);
        _changed.Remove(cluster);
    }

    /// <param name="nodes">The cluster's nodes, ordered by name (ordinal).</param>
    public ClusterSnapshot Get(string cluster, SortedDictionary<string, NodeEntry> nodes)
    {
        if (!_snapshots.TryGetValue(cluster, out var snapshot))
        {
            snapshot = new ClusterSnapshot([.. nodes.Values.Select(n => n.Snapshot())], dynamicPorts);
        }
        else if (_changed.Remove(cluster, out var names))
        {
            var changes = new List<(int, NodeSnapshot)>(names.Count);
            foreach (var name in names)
            {
                var index = snapshot.IndexOf(name);
                if (index < 0)
                {
                    throw new InvalidOperationException($"node {name} is not in the cached snapshot; membership changes must drop it");
                }

                changes.Add((index, nodes[name].Snapshot()));
            }

            snapshot = snapshot.WithNodes(changes);
        }

        _snapshots[cluster] = snapshot;
        return snapshot;
    }
}
