using Google.Protobuf.Collections;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>What a balancer is sent: the target groups it serves that exist, each with its targets.</summary>
internal static class BalancerAssignments
{
    /// <param name="serves">The groups the balancer named in its hello; empty: every group.</param>
    public static RepeatedField<Contract.BalancedTargetGroup> For(TargetsSnapshot snapshot, IReadOnlyCollection<string> serves)
    {
        var groups = new RepeatedField<Contract.BalancedTargetGroup>();
        foreach (var (name, group) in snapshot.Groups.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            if (serves.Count > 0 && !serves.Contains(name))
            {
                continue;
            }

            var balanced = new Contract.BalancedTargetGroup { TargetGroup = ToContract(group) };
            balanced.Targets.AddRange(snapshot.Targets.GetValueOrDefault(name, []).Select(t => new Contract.BalancedTarget
            {
                Id = t.TaskId,
                Host = t.Host,
                Port = t.Port,
                Weight = t.Weight,
                Draining = t.Draining,
            }));
            groups.Add(balanced);
        }

        return groups;
    }

    /// <summary>The targets of each group in an assignment, as the health book keeps what a balancer was given.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<DerivedTarget>> TargetsOf(TargetsSnapshot snapshot, IReadOnlyCollection<string> serves) =>
        snapshot.Targets.Where(g => serves.Count == 0 || serves.Contains(g.Key)).ToDictionary(g => g.Key, g => g.Value, StringComparer.Ordinal);

    /// <summary>The group's settings (services and balancers left empty, as the balancers need none).</summary>
    public static Contract.TargetGroup ToContract(TargetGroupRecord group) => TargetGroupMapper.ToContract(group, []);
}
