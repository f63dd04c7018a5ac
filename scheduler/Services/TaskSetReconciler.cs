using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>What one pass does to a service with the EXTERNAL controller.</summary>
/// <param name="Starts">New tasks per task set (each <see cref="ServiceStart.Deployment"/> set), PRIMARY first.</param>
internal sealed record TaskSetPlan(IReadOnlyList<TaskStop> Stops, IReadOnlyList<ServiceStart> Starts);

/// <summary>
/// Desired against actual for a service with the EXTERNAL deployment controller: a pure function,
/// tested as a table. Rules:
/// <list type="bullet">
/// <item>Each task set keeps <see cref="TaskSets.TargetOf"/> tasks of its own task definition
/// (⌈desired × scale / 100⌉; none for a DRAINING set or a service being deleted): fewer, it starts
/// more; more, it stops the surplus in <see cref="ServiceReconciler"/>'s scale-in order (not healthy
/// first, then by the strategy's node choice, newest first).</item>
/// <item>A task that turned UNHEALTHY after the grace period is stopped, and so replaced.</item>
/// <item>A task on a DRAINING node is replaced: a new one starts elsewhere, and the old one stops once
/// its set has its count of healthy tasks on other nodes (at once when it is not healthy itself).</item>
/// <item>A live task of no task set (one whose set is gone) is stopped.</item>
/// <item>Protected tasks (task scale-in protection) are passed by by scale-in, replacement and
/// draining alike until their protection ends; one that fails its health checks is still replaced.</item>
/// </list>
/// Task sets have no rolling limits: they move independently, as ECS's do.
/// </summary>
internal static class TaskSetReconciler
{
    public const string ScaledIn = "Task set scaled in";
    public const string SetDeleted = "Task set deleted";
    public const string Unhealthy = "Task failed container health checks";
    public const string NodeDraining = "Node is draining";

    public static TaskSetPlan Plan(ServiceRecord service, IReadOnlyList<ServiceTaskView> live, DateTimeOffset now)
    {
        var grace = TimeSpan.FromSeconds(service.HealthCheckGracePeriodSeconds);
        var stops = new List<TaskStop>();
        var starts = new List<ServiceStart>();
        var stopped = new HashSet<string>(StringComparer.Ordinal);
        void Stop(ServiceTaskView view, string reason)
        {
            if (stopped.Add(view.Task.Id))
            {
                stops.Add(new TaskStop(view.Task.Id, reason));
            }
        }

        foreach (var view in live.Where(v => (v.Unhealthy || v.FailedTargetGroup is not null) && (v.Task.StartedAt ?? v.Task.CreatedAt) + grace <= now))
        {
            Stop(view, view.Unhealthy ? Unhealthy : $"Task failed ELB health checks in target group {view.FailedTargetGroup}");
        }

        var sets = service.Deployments.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var view in live.Where(v => !sets.Contains(v.Task.Deployment) && !v.Protected))
        {
            Stop(view, SetDeleted);
        }

        var strategy = service.Strategies.FirstOrDefault();
        foreach (var set in service.Deployments)
        {
            var target = TaskSets.TargetOf(service, set);
            var mine = live.Where(v => v.Task.Deployment == set.Id && !stopped.Contains(v.Task.Id)).ToList();
            var keep = mine.Where(v => !v.OnDrainingNode).ToList();
            var moving = mine.Where(v => v.OnDrainingNode).ToList();
            if (keep.Count > target)
            {
                var reason = set.Status == DeploymentStatus.Draining ? SetDeleted : ScaledIn;
                foreach (var view in ServiceReconciler.ScaleInOrder(keep.Where(v => !v.Protected), strategy).Take(keep.Count - target))
                {
                    Stop(view, reason);
                }

                keep = [.. keep.Where(v => !stopped.Contains(v.Task.Id))];
            }

            // The set's count of healthy tasks elsewhere: those on draining nodes may go (the not healthy ones go anyway).
            var replaced = keep.Count(v => v.Healthy) >= target;
            foreach (var view in moving.Where(v => !v.Protected && (replaced || v.FreeToStop)))
            {
                Stop(view, set.Status == DeploymentStatus.Draining ? SetDeleted : NodeDraining);
            }

            if (keep.Count < target)
            {
                starts.Add(new ServiceStart(target - keep.Count, Deployment: set.Id));
            }
        }

        return new TaskSetPlan(stops, starts);
    }
}
