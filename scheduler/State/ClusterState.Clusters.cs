using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

internal sealed partial class ClusterState
{
    public ClusterView CreateCluster(string name, IReadOnlyDictionary<string, string>? tags = null)
    {
        lock (_gate)
        {
            if (_clusters.ContainsKey(name))
            {
                throw RequestException.Exists("name", $"cluster \"{name}\" already exists");
            }

            var batch = new WriteBatch();
            batch.Clusters.Add(new ClusterRecord(name, Now) { Tags = tags ?? Tags.None });
            Commit(batch);
            return ViewOf(_clusters[name]);
        }
    }

    /// <summary>
    /// The cluster's name if it exists, else NOT_FOUND: for requests whose other mistakes ECS reports
    /// only after an unknown cluster.
    /// </summary>
    public string RequireClusterName(string name)
    {
        lock (_gate)
        {
            return RequireCluster(name).Name;
        }
    }

    public ClusterView? DescribeCluster(string name)
    {
        lock (_gate)
        {
            return _clusters.TryGetValue(name, out var cluster) ? ViewOf(cluster) : null;
        }
    }

    public IReadOnlyList<string> ClusterNames()
    {
        lock (_gate)
        {
            return [.. _clusters.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Deletes a cluster that has no ACTIVE or DRAINING nodes, no task that still runs, and no
    /// services. Its INACTIVE nodes and STOPPED tasks go with it.
    /// </summary>
    public ClusterView DeleteCluster(string name)
    {
        lock (_gate)
        {
            var cluster = RequireCluster(name, "name");
            var view = ViewOf(cluster);
            if (view.RegisteredNodes > 0)
            {
                throw RequestException.Precondition("name", $"cluster \"{name}\" still has {view.RegisteredNodes} registered nodes; deregister them first");
            }

            var live = _tasks.Values.Count(t => t.Cluster == name && t.LastStatus != TaskState.Stopped);
            if (live > 0)
            {
                throw RequestException.Precondition("name", $"cluster \"{name}\" still has {live} tasks that are not STOPPED; stop them first");
            }

            if (view.ActiveServices > 0)
            {
                throw RequestException.Precondition("name", $"cluster \"{name}\" still has {view.ActiveServices} services; delete them first");
            }

            var batch = new WriteBatch();
            batch.DeletedClusters.Add(name);
            batch.DeletedNodes.AddRange(NodesOf(name).Values.Select(n => n.Record.Key));
            batch.DeletedTasks.AddRange(_tasks.Values.Where(t => t.Cluster == name).Select(t => t.Id));
            batch.DeletedReceipts.AddRange(_receipts.Keys.Where(k => k.StartsWith(name + "/", StringComparison.Ordinal)));
            Commit(batch);
            return view;
        }
    }

    private ClusterView ViewOf(ClusterRecord cluster)
    {
        var nodes = _nodesByCluster.TryGetValue(cluster.Name, out var found) ? found.Values : (IEnumerable<NodeEntry>)[];
        int registered = 0, connected = 0, running = 0, pending = 0;
        foreach (var node in nodes)
        {
            if (node.Record.Status != NodeState.Inactive)
            {
                registered++;
            }

            if (node.Connected)
            {
                connected++;
            }

            running += node.Usage.Running;
            pending += node.Usage.Pending;
        }

        var services = _services.Values.Count(s => s.Cluster == cluster.Name);
        return new ClusterView(cluster, registered, connected, running, pending, services);
    }
}
