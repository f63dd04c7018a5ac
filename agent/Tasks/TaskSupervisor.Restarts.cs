using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tasks;

/// <summary>Restart policies: a container that exited is started again in place, the same container, without replacing the task.</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>
    /// Starts an exited container again when its restart policy says so: the task is not being stopped,
    /// its exit code is not ignored, and it ran at least its attempt period. A restart that fails leaves
    /// it exited for good, as a container without a policy.
    /// </summary>
    /// <param name="info">The engine's view of the exit, for how long it ran.</param>
    private async Task RestartIfItsPolicySaysAsync(AgentTask task, AgentContainer container, ContainerInfo? info, CancellationToken cancellation)
    {
        if (container.Rules.Restart is not { } policy || task.StopRequested || task.IsStopped || info is null)
        {
            return;
        }

        var exitCode = container.ExitCode;
        if (policy.WhyNotRestarted(exitCode, RanFor(container, info)) is { } whyNot)
        {
            LogNotRestarted(log, task.Id, container.Name, exitCode, whyNot);
            return;
        }

        try
        {
            // A start mounts the binds again: their paths are checked again as at the first start.
            foreach (var (volume, source) in container.HostSources)
            {
                _environment.RecheckHostSource(volume, source);
            }

            await runtime.StartAsync(container.RuntimeId, cancellation);
        }
        catch (Exception e) when (e is ContainerOperationException or RuntimeUnavailableException or TaskEnvironmentException)
        {
            container.Reason = $"restart failed: {e.Message}";
            LogRestartFailed(log, task.Id, container.Name, e.Message);
            return;
        }

        container.RestartCount++;
        container.StartedAt = time.GetUtcNow();
        container.Status = TaskStatus.Running;
        container.ExitCode = null;
        container.Reason = "";
        container.OomKilled = false;
        container.Health = container.Rules.HasHealthCheck ? ContainerHealth.Starting : ContainerHealth.None;
        LogRestarted(log, task.Id, container.Name, exitCode, container.RestartCount);

        var after = await runtime.InspectAsync(container.RuntimeId, cancellation);
        if (after is null || !after.Running)
        {
            RecordExit(container, after, after?.ExitCode); // at once again: for good, it ran no attempt period
            return;
        }

        container.Ports = [.. after.Ports];
    }

    /// <summary>
    /// From its start to its exit as the engine timed them where it says (exact, whatever the event's
    /// delay); else from when this agent started it to now, on the agent's clock.
    /// </summary>
    private TimeSpan RanFor(AgentContainer container, ContainerInfo info)
    {
        if (info is { StartedAt: { } started, FinishedAt: { } finished } && finished >= started)
        {
            return finished - started;
        }

        var now = time.GetUtcNow();
        return now - (container.StartedAt ?? now);
    }

    [LoggerMessage(30, LogLevel.Information, "Task {TaskId}: container {Container} exited ({ExitCode}) and is restarted in place by its restart policy (restart {Count})")]
    private static partial void LogRestarted(ILogger logger, string taskId, string container, int? exitCode, int count);

    [LoggerMessage(31, LogLevel.Information, "Task {TaskId}: container {Container} exited ({ExitCode}) and is not restarted: {Why}")]
    private static partial void LogNotRestarted(ILogger logger, string taskId, string container, int? exitCode, string why);

    [LoggerMessage(32, LogLevel.Warning, "Task {TaskId}: restarting container {Container} failed: {Problem}")]
    private static partial void LogRestartFailed(ILogger logger, string taskId, string container, string problem);
}
