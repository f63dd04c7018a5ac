using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tasks;

/// <summary>Self-fencing: tasks whose definition says disconnect.stopAfterSeconds stop when the scheduler is gone that long.</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>
    /// Stops every running task whose stopAfter has passed, given how long ago the scheduler last
    /// acknowledged this agent (null: not once since this host booted, which counts as forever). Each
    /// stop runs on its own, so a long stop timeout does not hold back the next task's fence.
    /// </summary>
    /// <returns>The stops set off by this call; their reports reach the scheduler once it is back.</returns>
    public IReadOnlyList<Task> Fence(TimeSpan? sinceScheduler, CancellationToken cancellation)
    {
        var due = _tasks.Values
            .Where(t => t.StopAfter is { } after && (sinceScheduler is null || sinceScheduler >= after))
            .Where(t => !t.Fenced && !t.StopRequested && !t.IsStopped)
            .ToList();
        var stops = new List<Task>(due.Count);
        foreach (var task in due)
        {
            task.Fenced = true;
            var seconds = task.StopAfter!.Value.TotalSeconds;
            var reason = sinceScheduler is { } since
                ? $"stopped by its agent: no contact with the scheduler for {since.TotalSeconds:0} s (disconnect.stopAfterSeconds = {seconds:0})"
                : $"stopped by its agent: no contact with the scheduler since the host started (disconnect.stopAfterSeconds = {seconds:0})";
            LogFenced(log, task.Id, seconds);
            stops.Add(StopAsync(task.Id, StopCode.NodeLost, reason, cancellation));
        }

        return stops;
    }

    [LoggerMessage(5, LogLevel.Warning, "Task {TaskId}: no contact with the scheduler for its disconnect.stopAfterSeconds ({Seconds:0} s); stopping it, so that its replacement never runs next to it")]
    private static partial void LogFenced(ILogger logger, string taskId, double seconds);
}
