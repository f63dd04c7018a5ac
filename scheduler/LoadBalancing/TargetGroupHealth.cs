using Orchestrator.Scheduler.Api.Mapping;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// The target groups as the balancers see them: each target derived now with the balancers' word on it
/// (DescribeTargetHealth), and the balancers that serve a group (TargetGroup.balancers).
/// </summary>
internal sealed class TargetGroupHealth(LoadBalancingFeed feed, TargetHealthBook book)
{
    /// <summary>Every target of the group, ordered by task id; null when there is no such group.</summary>
    public IReadOnlyList<Contract.TargetHealthDescription>? Describe(string targetGroup)
    {
        var snapshot = feed.Targets();
        if (!snapshot.Groups.ContainsKey(targetGroup))
        {
            return null;
        }

        var served = book.BalancersOf(targetGroup).Count > 0;
        return [.. snapshot.Targets.GetValueOrDefault(targetGroup, [])
            .Select(t => TargetHealthDescriptions.Describe(t, book.Observe(targetGroup, t.TaskId), served))];
    }

    /// <summary>The connected balancers that serve the group, for its description.</summary>
    public IReadOnlyList<Contract.BalancerStatus> BalancersOf(string targetGroup) =>
        [.. book.BalancersOf(targetGroup).Select(b => new Contract.BalancerStatus
        {
            Balancer = b.Balancer,
            State = b.State,
            Reason = b.Reason,
            UpdatedAt = Timestamps.From(b.UpdatedAt),
        })];
}
