using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// Container ordering (dependsOn, links): which created container starts when. Event-driven: the
/// gate is never held while waiting, since Docker's events need it to record the health changes and
/// exits that meet the dependencies. After the launch and after every event of the task, the task is
/// settled: what may start starts, what can never start stops the task.
/// </summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>
    /// Starts the containers whose dependencies are met, then decides the task: stopped when an
    /// essential container has exited or a dependency can no longer be met, RUNNING once every container
    /// has started (those that have run and exited by design count), else still PENDING. Reports it.
    /// </summary>
    /// <remarks>Called holding the gate, from the launch, an event, a startTimeout or recovery.</remarks>
    private async Task SettleAsync(AgentTask task, CancellationToken cancellation)
    {
        if (task.IsStopped || task.StopRequested)
        {
            return;
        }

        UnmetDependency? unmet = null;
        if (task.DefinitionsKnown && !EssentialExited(task))
        {
            try
            {
                unmet = await StartReadyContainersAsync(task, cancellation);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Docker refused a start, went away in the middle of one, or a host path is no longer
                // what was checked: as a failed launch, nothing of the task is left behind.
                await FailToStartAsync(task, StartFailureReason(e), cancellation);
                return;
            }
        }

        if (EssentialExited(task))
        {
            await StopTaskBecauseEssentialExitedAsync(task, cancellation, unmet ?? FirstUnmet(task));
            return;
        }

        if (unmet is not null)
        {
            await StopTaskForUnmetDependencyAsync(task, unmet, cancellation);
            return;
        }

        if (task.LastStatus == TaskStatus.Pending && task.Containers.All(c => c.HasStarted))
        {
            task.LastStatus = TaskStatus.Running;
            LogStarted(log, task.Id, task.TaskDefinitionArn);
        }

        ArmDependencyTimer(task, cancellation);
        Report(task);
    }

    /// <summary>
    /// Starts, in definition order, every created container whose dependencies are met, and again
    /// for those a start has just unblocked (START), until none is ready.
    /// </summary>
    /// <returns>A dependency that can never be met; then nothing more was started.</returns>
    private async Task<UnmetDependency?> StartReadyContainersAsync(AgentTask task, CancellationToken cancellation)
    {
        while (true)
        {
            var now = time.GetUtcNow();
            var ready = new List<AgentContainer>();
            var blocked = new List<AgentContainer>();
            var anyTimed = false;
            foreach (var container in Waiting(task))
            {
                var verdict = DependencyCheck.Evaluate(container, task.Containers, now);
                switch (verdict.Outcome)
                {
                    case DependencyOutcome.Never:
                        return new UnmetDependency(container, verdict.Reason);
                    case DependencyOutcome.Met:
                        ready.Add(container);
                        break;
                    default:
                        blocked.Add(container);
                        anyTimed |= verdict.Deadline is not null;
                        break;
                }
            }

            if (ready.Count == 0)
            {
                // A wait without a deadline is on a container that has not started, itself waiting. When
                // every waiting container is in that case they wait for one another: a dependsOn cycle
                // (refused at registration; this keeps an older definition from a PENDING for ever).
                return blocked.Count > 0 && !anyTimed
                    ? new UnmetDependency(blocked[0], $"containers {string.Join(", ", blocked.Select(c => $"\"{c.Name}\""))} wait for one another (a dependsOn cycle): none can start")
                    : null;
            }

            foreach (var container in ready)
            {
                await StartContainerAsync(task, container, cancellation);
                if (EssentialExited(task))
                {
                    return null; // exited at once: the task stops, nothing more starts
                }
            }
        }
    }

    /// <summary>Starts a created container and looks at what runs: its bound ports, or an exit at once.</summary>
    /// <exception cref="TaskEnvironmentException">A host path it binds has changed since the task was checked.</exception>
    private async Task StartContainerAsync(AgentTask task, AgentContainer container, CancellationToken cancellation)
    {
        // Docker mounts the bind sources now, not at create: a container of the task started before this
        // one may have swapped a directory of an allowed path for a link meanwhile.
        foreach (var (volume, source) in container.HostSources)
        {
            _environment.RecheckHostSource(volume, source);
        }

        await runtime.StartAsync(container.RuntimeId, cancellation);
        container.StartedAt = time.GetUtcNow();
        var info = await runtime.InspectAsync(container.RuntimeId, cancellation);
        if (info is null || !info.Running)
        {
            // Gone before it could be looked at: not restarted, it ran less than any attempt period.
            RecordExit(container, info, info?.ExitCode);
            LogContainerExitedAtOnce(log, task.Id, container.Name, container.ExitCode);
            return;
        }

        container.Status = TaskStatus.Running;
        container.Ports = [.. info.Ports];
    }

    /// <summary>A dependency can never be met: the task stops before it ever ran as a whole.</summary>
    private async Task StopTaskForUnmetDependencyAsync(AgentTask task, UnmetDependency unmet, CancellationToken cancellation)
    {
        LogDependencyUnmet(log, task.Id, unmet.Reason);
        unmet.Container.Reason = unmet.Reason;
        task.StopCode = StopCode.TaskFailedToStart;
        task.StoppedReason = unmet.Reason;
        await FinishStoppedAsync(task, cancellation);
    }

    /// <summary>
    /// Sets the task's timer to the earliest startTimeout a waiting container's dependency runs out at,
    /// so that a condition never met stops the task then, without any event.
    /// </summary>
    private void ArmDependencyTimer(AgentTask task, CancellationToken cancellation)
    {
        var now = time.GetUtcNow();
        var deadline = Waiting(task)
            .Select(c => DependencyCheck.Evaluate(c, task.Containers, now).Deadline)
            .Where(d => d is not null)
            .Min();
        if (deadline is not { } due || !task.DefinitionsKnown)
        {
            task.DependencyTimer?.Dispose();
            task.DependencyTimer = null;
            return;
        }

        task.DependencyTimer ??= time.CreateTimer(state => _ = OnDependencyTimeoutAsync(task, cancellation), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        task.DependencyTimer.Change(due > now ? due - now : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private async Task OnDependencyTimeoutAsync(AgentTask task, CancellationToken cancellation)
    {
        try
        {
            await task.Gate.WaitAsync(cancellation);
            try
            {
                await SettleAsync(task, cancellation);
            }
            finally
            {
                task.Gate.Release();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The timer fires once: without a new due time the waiting task would wait for good.
            LogDependencyTimeoutFailed(log, task.Id, e.Message);
            RetryDependencyTimeout(task);
        }
        catch (OperationCanceledException)
        {
            // The agent is stopping.
        }
    }

    /// <summary>How long after a failed startTimeout check (Docker away, say) it is made again.</summary>
    internal static readonly TimeSpan DependencyRetryDelay = TimeSpan.FromSeconds(5);

    private static void RetryDependencyTimeout(AgentTask task)
    {
        try
        {
            task.DependencyTimer?.Change(DependencyRetryDelay, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The task stopped meanwhile: nothing waits any more.
        }
    }

    /// <summary>Created (or adopted) and not started yet: waiting for its dependencies.</summary>
    private static IEnumerable<AgentContainer> Waiting(AgentTask task) =>
        task.Containers.Where(c => c.Status == TaskStatus.Pending && !c.HasStarted).ToList();

    private static bool EssentialExited(AgentTask task) => task.Containers.Any(c => c.Essential && c.Status == TaskStatus.Stopped);

    private UnmetDependency? FirstUnmet(AgentTask task)
    {
        var now = time.GetUtcNow();
        return Waiting(task)
            .Select(c => (Container: c, Verdict: DependencyCheck.Evaluate(c, task.Containers, now)))
            .Where(v => v.Verdict.Outcome == DependencyOutcome.Never)
            .Select(v => new UnmetDependency(v.Container, v.Verdict.Reason))
            .FirstOrDefault();
    }

    [LoggerMessage(20, LogLevel.Warning, "Task {TaskId} stops: {Reason}")]
    private static partial void LogDependencyUnmet(ILogger logger, string taskId, string reason);

    [LoggerMessage(21, LogLevel.Information, "Task {TaskId}: container {Container} exited at once ({ExitCode})")]
    private static partial void LogContainerExitedAtOnce(ILogger logger, string taskId, string container, int? exitCode);

    [LoggerMessage(22, LogLevel.Error, "Task {TaskId}: checking its containers' startTimeout failed: {Problem}; checking again shortly")]
    private static partial void LogDependencyTimeoutFailed(ILogger logger, string taskId, string problem);
}

/// <summary>A waiting container whose dependency can never be met, and why.</summary>
internal sealed record UnmetDependency(AgentContainer Container, string Reason);
