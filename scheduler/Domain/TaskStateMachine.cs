namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// The one table of legal task status transitions. Statuses only move forward; a step may be skipped
/// (a container that dies while PENDING goes straight to STOPPED), but nothing ever moves back, which
/// is what makes a repeated or late agent report harmless.
/// </summary>
internal static class TaskStateMachine
{
    private static readonly Dictionary<TaskState, TaskState[]> Legal = new()
    {
        [TaskState.Provisioning] = [TaskState.Pending, TaskState.Running, TaskState.Stopping, TaskState.Stopped],
        [TaskState.Pending] = [TaskState.Running, TaskState.Stopping, TaskState.Stopped],
        [TaskState.Running] = [TaskState.Stopping, TaskState.Stopped],
        [TaskState.Stopping] = [TaskState.Stopped],
        [TaskState.Stopped] = [],
    };

    public static bool CanMove(TaskState from, TaskState to) =>
        Legal.TryGetValue(from, out var next) && Array.IndexOf(next, to) >= 0;

    /// <summary>True while the task holds resources on its node (everything but STOPPED).</summary>
    public static bool HoldsResources(TaskState last) => last != TaskState.Stopped;
}
