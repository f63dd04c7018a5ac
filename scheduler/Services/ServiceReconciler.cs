using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>A live task of a service (desired RUNNING, not yet STOPPED), as the reconciler sees it.</summary>
/// <param name="OnDrainingNode">Its node is DRAINING: the task is replaced elsewhere, like an old one.</param>
/// <param name="Healthy">RUNNING and, where the definition has a health check, HEALTHY.</param>
/// <param name="NodeFreeCpu">CPU units left on the task's node, for binpack scale-in.</param>
/// <param name="NodeFreeMemory">MiB left on the task's node.</param>
/// <param name="Protected">Scale-in protection is on now: neither scale-in nor a deployment stops it.</param>
/// <param name="FailedTargetGroup">
/// A target group of the service whose balancers find the task unhealthy (ELB health checks), or null;
/// a task no balancer reports on (verdict unknown) never has one.
/// </param>
/// <param name="AwaitingBalancer">
/// RUNNING and container-healthy, but the balancers have not found it healthy yet (their verdict is
/// still INITIAL, or UNKNOWN while no balancer reports on it): not healthy for a deployment, and not
/// free to stop either, since it may be serving. A rollout waits for the balancers' word.
/// </param>
internal sealed record ServiceTaskView(TaskRecord Task, bool OnDrainingNode, bool Healthy, int NodeFreeCpu = 0, int NodeFreeMemory = 0, bool Protected = false,
    string? FailedTargetGroup = null, bool AwaitingBalancer = false)
{
    public bool Unhealthy => Task.Health == HealthState.Unhealthy;

    /// <summary>Not healthy in a way that costs nothing to stop it: it serves nobody (not RUNNING, failing its checks).</summary>
    public bool FreeToStop => !Healthy && !AwaitingBalancer;
}

internal sealed record TaskStop(string TaskId, string Reason);

/// <summary>What one reconcile pass does to a service.</summary>
/// <param name="Start">New tasks of the primary deployment to place.</param>
/// <param name="RolloutComplete">The primary deployment runs everything it should, healthy, and nothing older is left.</param>
/// <param name="StartOn">For DAEMON services: the nodes to start a task on, one each.</param>
internal sealed record ReconcilePlan(int Start, IReadOnlyList<TaskStop> Stops, bool RolloutComplete, IReadOnlyList<string>? StartOn = null)
{
    public IReadOnlyList<string> StartOnNodes => StartOn ?? [];
}

/// <summary>
/// Desired against actual for one REPLICA service: a pure function, so every rolling step can be
/// tested as a table. Rules, as ECS applies them:
/// <list type="bullet">
/// <item>At most ⌊desired × maximumPercent / 100⌋ tasks run at once (never fewer than desired), counting
/// those asked to stop until they have, and at least ⌈desired × minimumHealthyPercent / 100⌉ healthy ones
/// stay while old tasks are stopped.</item>
/// <item>Tasks of older deployments and tasks on DRAINING nodes are "to replace": new primary tasks are
/// started in the room that maximumPercent leaves, and the ones to replace are stopped as far as the
/// healthy minimum allows, those that are not healthy first (stopping them costs no health).</item>
/// <item>A task that turned UNHEALTHY after the grace period is stopped, and so replaced; so is one the
/// balancers find unhealthy in one of the service's target groups (a service with load balancers counts a
/// task healthy only when every group's balancers do, so deployments wait for them).</item>
/// <item>Beyond the desired count, primary tasks are stopped: those not healthy first, then so that what
/// remains still follows the strategy: for binpack, from the node with the most room left (emptying it),
/// otherwise from the node that has the most of the service's tasks.</item>
/// <item>Protected tasks (task scale-in protection) are left for last: scale-in and replacement pass
/// them by, and wait for their protection to end before stopping them. A protected task that fails its
/// health checks is still replaced.</item>
/// </list>
/// </summary>
internal static class ServiceReconciler
{
    /// <param name="stopping">Tasks asked to stop that still run: they count toward the maximum until they are gone.</param>
    public static ReconcilePlan Plan(ServiceRecord service, IReadOnlyList<ServiceTaskView> live, DateTimeOffset now, int stopping = 0)
    {
        var desired = service.Deleting ? 0 : service.DesiredCount;
        var maxRunning = Math.Max(desired, desired * service.MaximumPercent / 100);
        var minHealthy = (int)Math.Ceiling(desired * service.MinimumHealthyPercent / 100.0);
        var primaryId = service.Primary.Id;
        var grace = TimeSpan.FromSeconds(service.HealthCheckGracePeriodSeconds);
        var stops = new List<TaskStop>();

        // Unhealthy after the grace period, in its containers or in a balancer: replace.
        foreach (var view in live.Where(v => (v.Unhealthy || v.FailedTargetGroup is not null) && (v.Task.StartedAt ?? v.Task.CreatedAt) + grace <= now))
        {
            stops.Add(new TaskStop(view.Task.Id, view.Unhealthy
                ? "Task failed container health checks"
                : $"Task failed ELB health checks in target group {view.FailedTargetGroup}"));
        }

        var remaining = live.Where(v => stops.All(s => s.TaskId != v.Task.Id)).ToList();
        var keep = remaining.Where(v => v.Task.Deployment == primaryId && !v.OnDrainingNode).ToList();
        var replace = remaining.Where(v => v.Task.Deployment != primaryId || v.OnDrainingNode).ToList();

        // Scale in: primary tasks beyond the desired count.
        if (keep.Count > desired)
        {
            foreach (var view in ScaleInOrder(keep.Where(v => !v.Protected), service.Strategies.FirstOrDefault()).Take(keep.Count - desired))
            {
                stops.Add(new TaskStop(view.Task.Id, "Service scaled in"));
            }

            keep = keep.Where(v => stops.All(s => s.TaskId != v.Task.Id)).ToList();
        }

        // Stop tasks to replace while enough healthy ones remain; the not healthy ones cost nothing.
        var healthy = keep.Count(v => v.Healthy) + replace.Count(v => v.Healthy);
        var surplus = healthy - minHealthy;
        foreach (var view in replace.Where(v => !v.Protected).OrderBy(v => v.Healthy).ThenBy(v => v.Task.CreatedAt))
        {
            if (view.FreeToStop)
            {
                stops.Add(new TaskStop(view.Task.Id, ReplaceReason(view)));
            }
            else if (view.Healthy && surplus > 0)
            {
                stops.Add(new TaskStop(view.Task.Id, ReplaceReason(view)));
                surplus--;
            }
        }

        var stillRunning = keep.Count + replace.Count(v => stops.All(s => s.TaskId != v.Task.Id)) + stops.Count + stopping;
        var start = Math.Max(0, Math.Min(desired - keep.Count, maxRunning - stillRunning));
        var complete = replace.Count == 0 && keep.Count == desired && keep.All(v => v.Healthy) && stops.Count == 0;
        return new ReconcilePlan(start, stops, complete);
    }

    private static string ReplaceReason(ServiceTaskView view) =>
        view.OnDrainingNode ? "Node is draining" : "Replaced by a newer deployment";

    /// <summary>The order surplus tasks are stopped in; task sets scale in the same way.</summary>
    internal static IEnumerable<ServiceTaskView> ScaleInOrder(IEnumerable<ServiceTaskView> tasks, StrategySpec? strategy)
    {
        var list = tasks.ToList();
        var perNode = list.GroupBy(v => v.Task.Node).ToDictionary(g => g.Key, g => g.Count());
        Func<ServiceTaskView, int> byNode = strategy?.Type.Equals("binpack", StringComparison.OrdinalIgnoreCase) != true ? v => perNode[v.Task.Node]
            : strategy.Field.Equals("cpu", StringComparison.OrdinalIgnoreCase) ? v => v.NodeFreeCpu
            : v => v.NodeFreeMemory;
        return list.OrderBy(v => v.Healthy)
            .ThenByDescending(byNode)
            .ThenByDescending(v => v.Task.CreatedAt)
            .ThenBy(v => v.Task.Id, StringComparer.Ordinal);
    }
}
