using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>What the balancers say of one task of a service, as the service pass counts it: pure.</summary>
internal static class BalancerHealth
{
    /// <summary>
    /// Healthy only when the balancers find the task healthy in every target group of the service (a
    /// verdict not yet in, Unknown or Initial, is not healthy: a deployment waits for it); the first
    /// group where they find it unhealthy, which gets it replaced once its grace period is over. Only a
    /// RUNNING task's unhealthy verdict counts: one kept from before it ran, or of a task on its way
    /// out, does not. Unknown (no balancer reports on it) never fails a task. A service without load
    /// balancers is not gated.
    /// </summary>
    /// <param name="verdict">The balancers' verdict on the task in a target group.</param>
    public static (bool Healthy, string? FailedGroup) Of(IReadOnlyList<LoadBalancerSpec> balancers, TaskRecord task, Func<string, TargetVerdict> verdict)
    {
        var healthy = true;
        string? failed = null;
        foreach (var balancer in balancers)
        {
            var said = verdict(balancer.TargetGroup);
            healthy &= said == TargetVerdict.Healthy;
            if (said == TargetVerdict.Unhealthy && task.LastStatus == TaskState.Running)
            {
                failed ??= balancer.TargetGroup;
            }
        }

        return (healthy, failed);
    }
}
