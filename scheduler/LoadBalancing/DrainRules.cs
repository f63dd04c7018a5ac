using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// When a task's stop waits for its targets to drain (ECS's DEACTIVATING), and when the wait is over:
/// pure, so both are table-tested. The state stores the hold as <see cref="TaskRecord.DrainUntil"/>, set
/// in the same commit as the task's desired STOPPED; the agent gets the stop only once it is cleared.
/// </summary>
internal static class DrainRules
{
    /// <summary>
    /// The time until which the stop of a task asked to stop now waits, or null when it need not wait.
    /// Only a RUNNING task the scheduler asks to stop was a target (its service names target groups):
    /// a task that never ran, or is gone already (node lost, essential container exited), has nothing
    /// to drain. The longest deregistration delay of the service's groups counts; 0 s drains nothing.
    /// </summary>
    /// <param name="delays">The deregistration delay of each target group the task's service names (none: not balanced).</param>
    public static DateTimeOffset? HoldUntil(TaskRecord task, IEnumerable<TimeSpan> delays, DateTimeOffset now)
    {
        if (task.LastStatus != TaskState.Running || task.DesiredStatus != TaskState.Running)
        {
            return null;
        }

        var longest = delays.DefaultIfEmpty(TimeSpan.Zero).Max();
        return longest > TimeSpan.Zero ? now + longest : null;
    }

    /// <summary>
    /// Whether a task's hold is over: its deadline came, or every balancer reports its targets drained
    /// (no connection left), or it is no longer a task to stop (STOPPED on its own meanwhile, or, which
    /// nothing does today, desired RUNNING again). A task without a hold has nothing to release.
    /// </summary>
    public static bool Releases(TaskRecord task, DrainProgress progress, DateTimeOffset now) =>
        task.DrainUntil is { } until
        && (now >= until || progress.Drained || task.LastStatus == TaskState.Stopped || task.DesiredStatus != TaskState.Stopped);
}
