using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>What the metrics read of the state: counts from memory, never the store.</summary>
internal sealed partial class ClusterState
{
    private readonly TaskStatusCounts _taskCounts = new();

    public int TaskCount(TaskState status) => _taskCounts.Of(status);

    /// <summary>Nodes by status and connection; every combination, zeros included, so series fall to 0 rather than vanish.</summary>
    public Dictionary<(NodeState Status, bool Connected), int> CountNodesByStatus()
    {
        var counts = new Dictionary<(NodeState, bool), int>();
        foreach (var status in Enum.GetValues<NodeState>())
        {
            counts[(status, true)] = 0;
            counts[(status, false)] = 0;
        }

        lock (_gate)
        {
            foreach (var entry in _nodes.Values)
            {
                counts[(entry.Record.Status, entry.Connected)]++;
            }
        }

        return counts;
    }

    /// <summary>The longest time since a connected agent's last heartbeat; zero with none connected.</summary>
    public TimeSpan HeartbeatAgeMax(DateTimeOffset now)
    {
        var oldest = TimeSpan.Zero;
        lock (_gate)
        {
            foreach (var entry in _nodes.Values)
            {
                if (entry.Connected && entry.LastHeartbeatAt is { } last && now - last > oldest)
                {
                    oldest = now - last;
                }
            }
        }

        return oldest;
    }
}
