using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Scheduler.Services;

/// <summary>
/// The policy of one service pass, as pure functions: the state gathers the inputs, asks
/// <see cref="Decide"/> what to do, places what it says to start, folds each placement in with
/// <see cref="Placed"/> and commits the result. In order, a pass
/// <list type="number">
/// <item>counts the tasks that failed since the last pass (<see cref="FailureBackoff"/>);</item>
/// <item>trips the circuit breaker (<see cref="CircuitBreaker"/>): a deployment that failed without
/// rollback holds what runs and starts nothing until the user updates the service (or deletes it);</item>
/// <item>plans stops and starts (<see cref="ServiceReconciler"/>, or <see cref="DaemonReconciler"/>,
/// whose desired count follows the nodes it is aimed at; for the EXTERNAL controller
/// <see cref="TaskSetReconciler"/>, with no circuit breaker and no rollout, its DRAINING task sets
/// removed once none of their tasks lives);</item>
/// <item>starts nothing while the backoff runs, and says so once;</item>
/// <item>marks the rollout complete (steady state) and resets the failures in a row;</item>
/// <item>removes a service being deleted once nothing of it runs (nor drains).</item>
/// </list>
/// </summary>
internal static class ServiceController
{
    /// <summary>Tasks the reconcilers see: desired RUNNING, not yet STOPPED.</summary>
    public static bool IsLive(TaskRecord task) => task.DesiredStatus == TaskState.Running && task.LastStatus != TaskState.Stopped;

    /// <param name="tasks">All of the service's tasks, stopped ones too (their failures are counted here).</param>
    /// <param name="live">Views of those of <paramref name="tasks"/> that are <see cref="IsLive"/>.</param>
    /// <param name="daemon">For a DAEMON service, the nodes it is aimed at; null for a REPLICA one.</param>
    public static ServiceDecision Decide(ServiceRecord service, IReadOnlyList<TaskRecord> tasks, IReadOnlyList<ServiceTaskView> live, DaemonTargets? daemon, DateTimeOffset now)
    {
        var (counted, failuresCounted) = FailureBackoff.Count(service, tasks, now);
        if (counted.External)
        {
            return DecideTaskSets(service, counted, failuresCounted, tasks, live, now);
        }

        var updated = CircuitBreaker.Trip(counted, now);
        if (updated.Primary.Rollout == RolloutState.Failed && !updated.Deleting)
        {
            // Tripped without rollback: hold what runs, start nothing, until the user updates the service.
            // Not once it is deleted, which no update can follow: then its tasks stop and it goes.
            return new ServiceDecision(updated, failuresCounted, [], [], Remove: false);
        }

        ReconcilePlan plan;
        if (updated.Daemon)
        {
            var targets = daemon ?? throw new ArgumentException($"DAEMON service {service.Name} needs the nodes it is aimed at", nameof(daemon));
            plan = DaemonReconciler.Plan(updated, live, targets.Wanted, targets.Startable);
            if (updated.DesiredCount != targets.Wanted.Count)
            {
                updated = updated with { DesiredCount = targets.Wanted.Count };
            }
        }
        else
        {
            var stopping = tasks.Count(t => t.DesiredStatus == TaskState.Stopped && t.LastStatus != TaskState.Stopped);
            plan = ServiceReconciler.Plan(updated, live, now, stopping);
        }

        IReadOnlyList<ServiceStart> starts = plan.StartOnNodes.Count > 0 ? [.. plan.StartOnNodes.Select(node => new ServiceStart(1, node))]
            : plan.Start > 0 ? [new ServiceStart(plan.Start)]
            : [];
        if (starts.Count > 0 && updated.NextStartAt is { } notBefore && now < notBefore)
        {
            updated = WithNewEvent(updated, now, $"service {service.Name} is waiting until {notBefore:HH:mm:ss} before starting tasks again, after {updated.ConsecutiveFailures} failed in a row");
            starts = [];
        }

        // A plan that completes the rollout starts nothing, so no placement event can follow this one.
        if (plan.RolloutComplete && updated.Primary.Rollout == RolloutState.InProgress)
        {
            updated = updated with
            {
                Deployments = [updated.Primary with { Rollout = RolloutState.Completed, RolloutReason = "deployment completed", UpdatedAt = now }],
                ConsecutiveFailures = 0,
                NextStartAt = null,
            };
            updated = updated.WithEvent(now, $"service {service.Name} has reached a steady state");
        }

        // A service being deleted stays while a task of it drains: its targets are derived from it.
        var remove = updated.Deleting && live.Count == 0 && starts.Count == 0 && !tasks.Any(t => t.IsDraining);
        return new ServiceDecision(updated, failuresCounted, plan.Stops, starts, Remove: remove);
    }

    /// <summary>
    /// A pass over a service with the EXTERNAL controller: its task sets (<see cref="TaskSetReconciler"/>),
    /// no circuit breaker and no rollout (the user moves the sets). The backoff holds starts as for any
    /// service; a DRAINING set goes once none of its tasks lives.
    /// </summary>
    private static ServiceDecision DecideTaskSets(ServiceRecord service, ServiceRecord updated, IReadOnlyList<TaskRecord> failuresCounted, IReadOnlyList<TaskRecord> tasks, IReadOnlyList<ServiceTaskView> live, DateTimeOffset now)
    {
        var plan = TaskSetReconciler.Plan(updated, live, now);
        var starts = plan.Starts;
        if (starts.Count > 0 && updated.NextStartAt is { } notBefore && now < notBefore)
        {
            updated = WithNewEvent(updated, now, $"service {service.Name} is waiting until {notBefore:HH:mm:ss} before starting tasks again, after {updated.ConsecutiveFailures} failed in a row");
            starts = [];
        }

        var living = tasks.Where(t => t.LastStatus != TaskState.Stopped).Select(t => t.Deployment).ToHashSet(StringComparer.Ordinal);
        var gone = updated.Deployments.Where(d => d.Status == DeploymentStatus.Draining && !living.Contains(d.Id)).ToList();
        if (gone.Count > 0)
        {
            updated = updated with { Deployments = [.. updated.Deployments.Where(d => !gone.Contains(d))] };
            foreach (var set in gone)
            {
                updated = updated.WithEvent(now, $"service {service.Name} task set {set.Id} is deleted: its tasks have stopped");
            }
        }

        // As for ECS-controller services: a deleted service stays until its draining tasks stopped (their targets come from it).
        return new ServiceDecision(updated, failuresCounted, plan.Stops, starts, Remove: updated.Deleting && live.Count == 0 && starts.Count == 0 && !tasks.Any(t => t.IsDraining));
    }

    /// <summary>Folds one placement's outcome into the record: what could not be placed, and why, is said once.</summary>
    /// <param name="failed">The tasks the placement could not place, as the engine explained them.</param>
    public static ServiceRecord Placed(ServiceRecord service, IReadOnlyList<PlacementFailure> failed, DateTimeOffset now) =>
        failed.Count == 0
            ? service
            : WithNewEvent(service, now, $"service {service.Name} is unable to place {failed.Count} tasks ({failed[0].Reason}): {failed[0].Detail}");

    /// <summary>Adds an event unless it would repeat the newest one (a service waiting says so once).</summary>
    private static ServiceRecord WithNewEvent(ServiceRecord service, DateTimeOffset now, string message) =>
        service.Events.Count > 0 && service.Events[0].Message == message ? service : service.WithEvent(now, message);
}
