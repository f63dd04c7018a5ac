using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Custom node attributes (PutAttributes, DeleteAttributes, ListAttributes). They are stored with the
/// node, seen by placement at once (through the node's snapshot), and DAEMON services follow them.
/// </summary>
internal sealed partial class ClusterState
{
    /// <summary>As ECS: at most 10 custom attributes on one node.</summary>
    public const int MaxCustomAttributes = 10;

    /// <summary>Sets the attributes, all or none: the whole request is checked before anything is written.</summary>
    public IReadOnlyList<NodeAttribute> PutAttributes(string cluster, IReadOnlyList<AttributeChange> changes)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            var updated = new Dictionary<string, NodeRecord>(StringComparer.Ordinal);
            foreach (var change in changes)
            {
                var record = updated.GetValueOrDefault(change.Node) ?? RequireAttributeTarget(cluster, change).Record;
                if (record.Attributes.ContainsKey(change.Name))
                {
                    throw RequestException.Precondition($"{change.Field}.name", $"\"{change.Name}\" is an attribute of node \"{change.Node}\"'s agent; change it in the agent's settings");
                }

                var custom = Tags.With(record.CustomAttributes, new Dictionary<string, string> { [change.Name] = change.Value });
                if (custom.Count > MaxCustomAttributes)
                {
                    throw RequestException.Invalid($"{change.Field}.name", $"node \"{change.Node}\" would have {custom.Count} custom attributes; at most {MaxCustomAttributes}");
                }

                updated[change.Node] = record with { CustomAttributes = custom };
            }

            CommitAttributes(cluster, updated.Values);
            return [.. changes.Select(c => new NodeAttribute(c.Node, c.Name, c.Value))];
        }
    }

    /// <summary>Removes custom attributes; one a node does not have is no error. Answers those removed.</summary>
    public IReadOnlyList<NodeAttribute> DeleteAttributes(string cluster, IReadOnlyList<AttributeChange> changes)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            var updated = new Dictionary<string, NodeRecord>(StringComparer.Ordinal);
            var removed = new List<NodeAttribute>();
            foreach (var change in changes)
            {
                var record = updated.GetValueOrDefault(change.Node) ?? RequireAttributeTarget(cluster, change).Record;
                if (record.CustomAttributes.TryGetValue(change.Name, out var value))
                {
                    // Also when the agent has since set one of the same name (which placement sees):
                    // the custom one must stay removable.
                    removed.Add(new NodeAttribute(change.Node, change.Name, value));
                    updated[change.Node] = record with { CustomAttributes = Tags.Without(record.CustomAttributes, [change.Name]) };
                }
                else if (record.Attributes.ContainsKey(change.Name))
                {
                    throw RequestException.Precondition($"{change.Field}.name", $"\"{change.Name}\" is an attribute of node \"{change.Node}\"'s agent; it cannot be deleted here");
                }
            }

            CommitAttributes(cluster, updated.Values);
            return removed;
        }
    }

    /// <summary>Every attribute of the cluster's nodes that matches the filters (empty ones match all), by node then name.</summary>
    public IReadOnlyList<NodeAttribute> ListAttributes(string cluster, string name, string value, string node)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            return [.. NodesOf(cluster).Values
                .Where(e => node.Length == 0 || e.Record.Name == node)
                .SelectMany(e => e.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => new NodeAttribute(e.Record.Name, a.Key, a.Value)))
                .Where(a => (name.Length == 0 || a.Name == name) && (value.Length == 0 || a.Value == value))];
        }
    }

    private NodeEntry RequireAttributeTarget(string cluster, AttributeChange change)
    {
        if (!NodesOf(cluster).TryGetValue(change.Node, out var entry))
        {
            throw RequestException.NotFound($"{change.Field}.targetId", $"node \"{change.Node}\" does not exist in cluster \"{cluster}\"");
        }

        return entry.Record.Status == NodeState.Inactive
            ? throw RequestException.Precondition($"{change.Field}.targetId", $"node \"{change.Node}\" is INACTIVE (deregistered)")
            : entry;
    }

    private void CommitAttributes(string cluster, IEnumerable<NodeRecord> records)
    {
        var batch = new WriteBatch();
        batch.Nodes.AddRange(records);
        if (batch.IsEmpty)
        {
            return;
        }

        Commit(batch);

        // DAEMON services follow at once: a node that now matches gets its task, one that no longer
        // does has its task stopped. A refused write here is left to the next pass (within a second):
        // the attributes themselves were saved, so the call must not fail.
        foreach (var service in _services.Values.Where(s => s.Cluster == cluster && s.Daemon).ToList())
        {
            try
            {
                ReconcileLocked(service, Now);
            }
            catch (RequestException e) when (e.Kind == RequestErrorKind.Unavailable)
            {
                Log.StoreWriteFailed(_log, e.Message);
            }
        }
    }
}
