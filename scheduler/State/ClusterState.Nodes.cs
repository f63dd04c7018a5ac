using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

internal sealed partial class ClusterState
{
    public IReadOnlyList<NodeView> ListNodes(string cluster, Func<NodeState, bool> status)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            return [.. NodesOf(cluster).Values.Where(n => status(n.Record.Status)).Select(ViewOf)];
        }
    }

    public NodeView? DescribeNode(string cluster, string name)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            return NodesOf(cluster).TryGetValue(name, out var entry) ? ViewOf(entry) : null;
        }
    }

    /// <summary>ACTIVE or DRAINING. Setting the status a node already has changes nothing.</summary>
    public NodeView UpdateNodeStatus(string cluster, string name, NodeState status)
    {
        lock (_gate)
        {
            var entry = RequireNode(cluster, name);
            if (entry.Record.Status == NodeState.Inactive)
            {
                throw RequestException.Precondition("name", $"node \"{name}\" is INACTIVE (deregistered); start its agent with Agent:Rejoin=true to register it again");
            }

            if (entry.Record.Status != status)
            {
                var batch = new WriteBatch();
                batch.Nodes.Add(entry.Record with { Status = status });
                Commit(batch);
            }

            return ViewOf(entry);
        }
    }

    /// <summary>
    /// Marks a node INACTIVE and ends its agent's stream. With tasks still on it, refused unless
    /// <paramref name="force"/>; then they are recorded STOPPED (NodeLost) and the agent, if it is
    /// connected, is told to stop them before it is let go.
    /// </summary>
    public NodeView DeregisterNode(string cluster, string name, bool force)
    {
        lock (_gate)
        {
            var entry = RequireNode(cluster, name);
            var live = TasksOnNode(entry.Record).Where(t => t.LastStatus != TaskState.Stopped).ToList();
            if (live.Count > 0 && !force)
            {
                throw RequestException.Precondition("name", $"node \"{name}\" has {live.Count} tasks that are not STOPPED; stop them, or deregister with force");
            }

            var batch = new WriteBatch();
            batch.Nodes.Add(entry.Record with { Status = NodeState.Inactive });
            if (_identities.TryGetValue(entry.Record.Key, out var identity))
            {
                // Its certificate no longer connects: only a new join with a valid token brings it back.
                batch.NodeIdentities.Add(identity with { Revoked = true });
            }

            var now = Now;
            foreach (var task in live)
            {
                batch.Tasks.Add(Stopped(task, now, TaskStopCode.NodeLost, "node deregistered"));
            }

            Commit(batch); // each live task's stop goes to the agent from the change (AgentDispatcher)

            entry.Session?.TrySend(new Contract.SchedulerMessage { Deregistered = new Contract.Deregistered { Reason = "node deregistered" } });
            entry.Session?.Close();
            entry.Attach(null);
            entry.DisconnectedAt ??= Now;
            _snapshots.NodeChanged(cluster, name);
            return ViewOf(entry);
        }
    }

    /// <summary>Whether the node has its agent now; unknown nodes count as not connected.</summary>
    public bool IsNodeConnected(string cluster, string node)
    {
        lock (_gate)
        {
            return _nodes.TryGetValue(NodeRecord.KeyOf(cluster, node), out var entry) && entry.Connected;
        }
    }

    private NodeEntry RequireNode(string cluster, string name)
    {
        RequireCluster(cluster);
        return NodesOf(cluster).TryGetValue(name, out var entry)
            ? entry
            : throw RequestException.NotFound("name", $"node \"{name}\" does not exist in cluster \"{cluster}\"");
    }

    private IEnumerable<TaskRecord> TasksOnNode(NodeRecord node) =>
        _tasks.Values.Where(t => t.Cluster == node.Cluster && t.Node == node.Name);

    private static NodeView ViewOf(NodeEntry entry) => new(
        entry.Record,
        entry.Connected,
        entry.LastHeartbeatAt,
        entry.Usage.Cpu,
        entry.Usage.Memory,
        [.. entry.Usage.Ports.Select(HostPortKey.FromKey).OrderBy(p => p.Port).ThenBy(p => p.Protocol)],
        entry.Usage.Running,
        entry.Usage.Pending);
}
