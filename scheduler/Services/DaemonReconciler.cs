using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>
/// Desired against actual for a DAEMON service: one task on every ACTIVE node that meets its
/// constraints. Pure. A new deployment replaces node by node: the old task goes first, the new one
/// starts once it has (as ECS does for daemons: minimum healthy 0, maximum 100). Tasks on nodes that
/// are DRAINING, INACTIVE or no longer match are stopped. A protected task (task scale-in protection)
/// is not replaced by a new deployment, nor stopped as a surplus, until its protection ends.
/// </summary>
internal static class DaemonReconciler
{
    /// <param name="wanted">Nodes that should run the service (ACTIVE and matching), connected or not.</param>
    /// <param name="startable">Of those, the ones a task can be started on now (agent connected).</param>
    public static ReconcilePlan Plan(ServiceRecord service, IReadOnlyList<ServiceTaskView> live, IReadOnlySet<string> wanted, IReadOnlySet<string> startable)
    {
        var primaryId = service.Primary.Id;
        var stops = new List<TaskStop>();
        var startOn = new List<string>();
        var complete = true;
        var byNode = live.GroupBy(v => v.Task.Node).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        foreach (var (node, tasks) in byNode.Where(n => !service.Deleting && wanted.Contains(n.Key)))
        {
            // The one kept is a protected one if there is any, so that a surplus is taken from the unprotected (as for REPLICA).
            var primary = tasks.Where(v => v.Task.Deployment == primaryId).OrderByDescending(v => v.Protected).ThenByDescending(v => v.Healthy).ThenBy(v => v.Task.CreatedAt).ToList();
            stops.AddRange(primary.Skip(1).Where(v => !v.Protected).Select(v => new TaskStop(v.Task.Id, "Service scaled in")));
            stops.AddRange(tasks.Where(v => v.Task.Deployment != primaryId && !v.Protected).Select(v => new TaskStop(v.Task.Id, "Replaced by a newer deployment")));
            complete &= primary.Count == 1 && primary[0].Healthy && tasks.Count == 1;
        }

        foreach (var (node, tasks) in byNode.Where(n => service.Deleting || !wanted.Contains(n.Key)))
        {
            var reason = tasks.Any(v => v.OnDrainingNode) ? "Node is draining" : "Node no longer runs this daemon";
            stops.AddRange(tasks.Select(v => new TaskStop(v.Task.Id, reason)));
            complete = false;
        }

        if (!service.Deleting)
        {
            foreach (var node in wanted.Order(StringComparer.Ordinal).Where(n => !byNode.ContainsKey(n)))
            {
                complete = false;
                if (startable.Contains(node))
                {
                    startOn.Add(node);
                }
            }
        }

        return new ReconcilePlan(startOn.Count, stops, complete && stops.Count == 0, startOn);
    }
}
