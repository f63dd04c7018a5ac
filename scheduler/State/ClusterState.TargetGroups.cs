using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Target groups: their records, unique by name and by port. They belong to no cluster; a service names
/// them in its load balancers, and a group is not deleted while one does.
/// </summary>
internal sealed partial class ClusterState
{
    private readonly SortedDictionary<string, TargetGroupRecord> _targetGroups = new(StringComparer.Ordinal);

    /// <summary>Every target group, by name.</summary>
    public IReadOnlyList<TargetGroupRecord> ListTargetGroups()
    {
        lock (_gate)
        {
            return [.. _targetGroups.Values];
        }
    }

    public TargetGroupRecord? TargetGroupNamed(string name)
    {
        lock (_gate)
        {
            return _targetGroups.GetValueOrDefault(name);
        }
    }

    /// <summary>"cluster/name" of every service that names the target group, ordered.</summary>
    public IReadOnlyList<string> ServicesOfTargetGroup(string name)
    {
        lock (_gate)
        {
            return ServicesNaming(name);
        }
    }

    /// <summary>
    /// Creates the target group. Asked again with the same settings, it answers the group that exists
    /// (as ELB does); with other settings, or on a port another group listens on, ALREADY_EXISTS.
    /// </summary>
    /// <param name="group">Validated; its <see cref="TargetGroupRecord.CreatedAt"/> is set here.</param>
    public TargetGroupRecord CreateTargetGroup(TargetGroupRecord group)
    {
        lock (_gate)
        {
            if (_targetGroups.TryGetValue(group.Name, out var existing))
            {
                if (SameSettings(existing, group))
                {
                    return existing;
                }

                throw RequestException.Exists("name", $"target group \"{group.Name}\" exists already with other settings");
            }

            if (_targetGroups.Values.FirstOrDefault(g => g.Port == group.Port) is { } other)
            {
                throw RequestException.Exists("port", $"port {group.Port} is used by target group \"{other.Name}\"");
            }

            var batch = new WriteBatch();
            batch.Puts(StoreTables.TargetGroups).Add(group with { CreatedAt = Now });
            Commit(batch);
            return _targetGroups[group.Name];
        }
    }

    /// <summary>Deletes the target group; refused while a service names it.</summary>
    public TargetGroupRecord DeleteTargetGroup(string name)
    {
        lock (_gate)
        {
            var group = _targetGroups.GetValueOrDefault(name)
                ?? throw RequestException.NotFound("name", $"target group \"{Echo.Clip(name)}\" does not exist");
            var users = ServicesNaming(name);
            if (users.Count > 0)
            {
                throw RequestException.Precondition("name",
                    $"target group \"{name}\" is used by the services {string.Join(", ", users.Select(u => $"\"{u}\""))}; delete them or create them without it first");
            }

            var batch = new WriteBatch();
            batch.Deletes(StoreTables.TargetGroups).Add(name);
            Commit(batch);
            return group;
        }
    }

    private static bool SameSettings(TargetGroupRecord a, TargetGroupRecord b) =>
        a.Protocol == b.Protocol && a.Port == b.Port && a.HealthCheck == b.HealthCheck
        && a.DeregistrationDelaySeconds == b.DeregistrationDelaySeconds;

    private List<string> ServicesNaming(string targetGroup) =>
    [
        .. _services.Values
            .Where(s => s.LoadBalancers.Any(l => string.Equals(l.TargetGroup, targetGroup, StringComparison.Ordinal)))
            .Select(s => s.Key)
            .Order(StringComparer.Ordinal),
    ];

    private void ApplyTargetGroups(WriteBatch batch)
    {
        foreach (var group in batch.Puts(StoreTables.TargetGroups))
        {
            _targetGroups[group.Name] = group;
        }

        foreach (var name in batch.Deletes(StoreTables.TargetGroups))
        {
            _targetGroups.Remove(name);
        }
    }
}
