using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.LoadBalancing;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Draining before stop: a task that is a target in its service's target groups is asked to stop with
/// its stop held (<see cref="TaskRecord.DrainUntil"/>) while the balancers drain it, and released here
/// (the dispatcher then sends the stop). The hold is stored, so a new leader releases it on time.
/// </summary>
internal sealed partial class ClusterState
{
    // The balancers' verdicts (kept by the leader in memory): set once as the host starts; null without
    // balancers (no balancer component in the process, and in tests that need none), when no task's
    // health in a balancer is known and deployments are not gated on it.
    private volatile ITargetHealth? _targetHealth;

    /// <summary>The balancers' verdicts the service pass and the drain releaser read.</summary>
    public void UseTargetHealth(ITargetHealth targetHealth) => _targetHealth = targetHealth;

    /// <summary>
    /// Releases the held stops that are due: the deregistration delay is over, or every balancer
    /// reports the task's targets drained. All in one commit; the dispatcher sends the stops.
    /// </summary>
    /// <returns>How many were released.</returns>
    public int ReleaseDrains()
    {
        lock (_gate)
        {
            var now = Now;
            var health = _targetHealth;
            var batch = new WriteBatch();
            var early = 0;
            foreach (var task in _tasks.Values)
            {
                if (task.DrainUntil is null)
                {
                    continue;
                }

                var progress = health?.DrainOf(task.Id) ?? default;
                if (DrainRules.Releases(task, progress, now))
                {
                    // The stop code and reason stay as the stop gave them.
                    batch.Tasks.Add(task with { DrainUntil = null, DrainedAt = now, Version = task.Version + 1 });
                    early += now < task.DrainUntil && task.IsDraining ? 1 : 0;
                }
            }

            if (batch.IsEmpty)
            {
                return 0;
            }

            Commit(batch);
            Log.DrainsReleased(_log, batch.Tasks.Count, early);
            return batch.Tasks.Count;
        }
    }

    /// <summary>
    /// Until when the stop of a task asked to stop now waits for its targets to drain: its service's
    /// target groups' longest deregistration delay from now, when it is a serving target (RUNNING,
    /// healthy where it has a container health check, publishing a balanced port); null otherwise. A group deleted meanwhile has no target to drain.
    /// </summary>
    private DateTimeOffset? DrainUntilOf(TaskRecord task, DateTimeOffset now)
    {
        if (task.Service.Length == 0
            || !_services.TryGetValue(ServiceRecord.KeyOf(task.Cluster, task.Service), out var service)
            || service.LoadBalancers.Count == 0)
        {
            return null;
        }

        // Only a task the balancers were given serves traffic to drain: one not yet healthy (it is no
        // target until its container health check passes), publishing none of the ports or on a node
        // of unknown address has none.
        var balanced = BalancedLocked(task);
        if (!service.LoadBalancers.Any(l => Scheduler.LoadBalancing.TargetsBuilder.IsServingTarget(balanced, l, now)))
        {
            return null;
        }

        return DrainRules.HoldUntil(task, service.LoadBalancers.Select(l => TargetGroupNamed(l.TargetGroup)?.DeregistrationDelay ?? TimeSpan.Zero), now);
    }

    private static partial class Log
    {
        [LoggerMessage(LogEvents.DrainsReleased, LogLevel.Information, "Released the held stops of {Count} draining tasks ({Early} drained before their deregistration delay ended)")]
        public static partial void DrainsReleased(ILogger logger, int count, int early);
    }
}
