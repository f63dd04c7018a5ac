using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>
/// Failed tasks of a service and the backoff they cause: 1 s after the first failure in a row, doubling
/// with each one after it, never more than five minutes. Pure.
/// </summary>
internal static class FailureBackoff
{
    public static readonly TimeSpan Cap = TimeSpan.FromMinutes(5);

    /// <summary>How long to wait before starting tasks again after this many failures in a row (at least one).</summary>
    public static TimeSpan Delay(int consecutiveFailures) =>
        // The exponent is bounded so that the power stays a finite double long after the cap is reached.
        TimeSpan.FromSeconds(Math.Min(Cap.TotalSeconds, Math.Pow(2, Math.Min(consecutiveFailures - 1, 20))));

    /// <summary>
    /// Tasks that failed and were not counted yet: counted per deployment (and returned marked, to be
    /// stored with the service), and they start or extend the backoff. A task of the primary deployment
    /// that started after the backoff ran out and is not unhealthy ends the failures in a row.
    /// </summary>
    public static (ServiceRecord Service, IReadOnlyList<TaskRecord> Counted) Count(ServiceRecord service, IReadOnlyList<TaskRecord> tasks, DateTimeOffset now)
    {
        // Only this service's own deployments: an older service of the same name left its tasks behind.
        var failed = tasks.Where(t => t.LastStatus == TaskState.Stopped && !t.FailureCounted
            && t.StopCode is TaskStopCode.TaskFailedToStart or TaskStopCode.EssentialContainerExited
            && service.Deployments.Any(d => d.Id == t.Deployment)).ToList();
        var counted = failed.Select(t => t with { FailureCounted = true }).ToList();
        // A task that started after the backoff and runs: the failures in a row are over.
        // For task sets (EXTERNAL), a task of any of them.
        var healthyNow = service.NextStartAt is { } backoffEnd && tasks.Any(t => (service.External ? service.Deployments.Any(d => d.Id == t.Deployment) : t.Deployment == service.Primary.Id)
            && t.LastStatus == TaskState.Running && t.Health != HealthState.Unhealthy && t.StartedAt >= backoffEnd);
        if (failed.Count == 0)
        {
            return (healthyNow && service.ConsecutiveFailures > 0 ? service with { ConsecutiveFailures = 0, NextStartAt = null } : service, counted);
        }

        var consecutive = service.ConsecutiveFailures + failed.Count;
        var delay = Delay(consecutive);
        var deployments = service.Deployments.Select(d => d with { FailedTasks = d.FailedTasks + failed.Count(t => t.Deployment == d.Id) }).ToList();
        var updated = service with { Deployments = deployments, ConsecutiveFailures = consecutive, NextStartAt = now + delay };
        return (updated.WithEvent(now, $"service {service.Name}: {failed.Count} task(s) stopped ({failed[0].StoppedReason}); next start in {delay.TotalSeconds:0} s"), counted);
    }
}
