using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// Runs this node's tasks on the container runtime and reports every change of them. Start and stop
/// commands, Docker's events, adoption after a restart and the reconciliation with the scheduler all
/// come through here; each task's changes are serialized by its own gate.
/// </summary>
internal sealed partial class TaskSupervisor(
    IContainerRuntime runtime,
    IReportSink reports,
    AgentIdentity identity,
    TimeProvider time,
    ILogger<TaskSupervisor> log)
{
    public const string EssentialExitedReason = "Essential container in task exited";
    public const string NeverStartedReason = "not started: the task stopped before its dependencies were met";
    public const string ContainersGoneReason = "the task's containers are gone from this node (removed outside the orchestrator, or lost while the agent was down)";

    private readonly ConcurrentDictionary<string, AgentTask> _tasks = new(StringComparer.Ordinal);
    private readonly TaskEnvironment _environment = new(runtime, identity, log);

    public int Count => _tasks.Count;

    /// <summary>Every task this agent knows, as reports: what goes into RegisterNode.</summary>
    public IReadOnlyList<TaskStateReport> CurrentReports()
    {
        var now = time.GetUtcNow();
        return [.. _tasks.Values.Select(t => t.ToReport(now))];
    }

    /// <summary>Starts a task. A task this agent already has is left as it is (commands may repeat).</summary>
    public async Task StartAsync(StartTaskCommand command, CancellationToken cancellation)
    {
        var task = new AgentTask(command.TaskId, command.Cluster, command.TaskDefinition.TaskDefinitionArn, ContainerSpecBuilder.StopAfter(command.TaskDefinition));
        foreach (var definition in command.TaskDefinition.ContainerDefinitions)
        {
            task.Containers.Add(new AgentContainer(definition.Name, ContainerSpecBuilder.IsEssential(definition), ContainerSpecBuilder.StopTimeout(definition))
            {
                Rules = ContainerStartRules.From(definition),
            });
        }

        if (!_tasks.TryAdd(command.TaskId, task))
        {
            return;
        }

        await task.Gate.WaitAsync(cancellation);
        try
        {
            if (task.StopRequested)
            {
                await FinishStoppedAsync(task, cancellation);
                return;
            }

            task.LastStatus = TaskStatus.Pending;
            Report(task);
            await LaunchAsync(task, command, cancellation);
        }
        finally
        {
            task.Gate.Release();
        }
    }

    private async Task LaunchAsync(AgentTask task, StartTaskCommand command, CancellationToken cancellation)
    {
        var definitions = TaskOverrides.Apply(command.TaskDefinition.ContainerDefinitions, command.Overrides);
        try
        {
            var hostSources = await _environment.PrepareAsync(command, cancellation);
            foreach (var image in definitions.Select(d => d.Image).Distinct(StringComparer.Ordinal))
            {
                await runtime.EnsureImageAsync(image, cancellation);
            }

            foreach (var i in CreationOrder.Of(definitions))
            {
                task.Containers[i].HostSources = definitions[i].MountPoints
                    .Where(m => hostSources.ContainsKey(m.SourceVolume))
                    .DistinctBy(m => m.SourceVolume)
                    .ToDictionary(m => m.SourceVolume, m => hostSources[m.SourceVolume], StringComparer.Ordinal);
                task.Containers[i].RuntimeId = await runtime.CreateAsync(ContainerSpecBuilder.Build(command, definitions[i], identity, hostSources), cancellation);
                task.Containers[i].Status = TaskStatus.Pending;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever went wrong (dockerd restarting in the middle included), the task fails to start
            // and leaves nothing: never a task PENDING for good with half its containers made.
            await FailToStartAsync(task, StartFailureReason(e), cancellation);
            return;
        }

        // Every container is created up front (volumesFrom needs its source to exist); each starts once
        // what it dependsOn is met: those without dependencies now, the others on the events that meet them.
        await SettleAsync(task, cancellation);
    }

    /// <summary>The stopped reason of a start that failed: the agent's own failures say what they are; anything else is named as unexpected.</summary>
    private static string StartFailureReason(Exception e) =>
        e is ImagePullException or ContainerOperationException or RuntimeUnavailableException or TaskEnvironmentException
            ? e.Message
            : $"the agent failed while starting the task ({e.GetType().Name}: {e.Message})";

    /// <summary>
    /// Removes whatever was created, so a failed start leaves nothing behind, and marks the task
    /// STOPPED whatever the removal meets: what Docker would not remove now is removed at the agent's next start.
    /// </summary>
    private async Task FailToStartAsync(AgentTask task, string reason, CancellationToken cancellation)
    {
        try
        {
            foreach (var container in task.Containers.Where(c => c.RuntimeId.Length > 0))
            {
                await runtime.RemoveAsync(container.RuntimeId, cancellation);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailedStartNotRemoved(log, task.Id, e.Message);
        }

        await _environment.RemoveAsync(task.Id, cancellation);
        foreach (var container in task.Containers)
        {
            container.Status = TaskStatus.Stopped;
            container.Reason = reason;
        }

        LogFailedToStart(log, task.Id, reason);
        MarkStopped(task, StopCode.TaskFailedToStart, reason);
        Report(task);
    }

    /// <summary>
    /// Stops a task: SIGTERM, then SIGKILL after each container's stop timeout. A task this agent does
    /// not have is reported STOPPED, so the scheduler is not left waiting for it.
    /// </summary>
    public async Task StopAsync(string taskId, StopCode code, string reason, CancellationToken cancellation)
    {
        if (!_tasks.TryGetValue(taskId, out var task))
        {
            var unknown = new AgentTask(taskId, identity.Cluster, "") { StopRequested = true };
            MarkStopped(unknown, code, reason.Length > 0 ? reason : "stopped before it started on this node");
            reports.Report(unknown.ToReport(time.GetUtcNow()));
            return;
        }

        await task.Gate.WaitAsync(cancellation);
        try
        {
            if (task.IsStopped)
            {
                Report(task); // the scheduler may have missed it
                return;
            }

            task.StopRequested = true;
            task.StopCode = code;
            task.StoppedReason = reason;
            if (task.LastStatus != TaskStatus.Stopping)
            {
                task.LastStatus = TaskStatus.Stopping;
                Report(task);
            }

            await FinishStoppedAsync(task, cancellation);
        }
        finally
        {
            task.Gate.Release();
        }
    }

    /// <summary>
    /// Stops every task this agent has, all at once, each as <see cref="StopAsync"/> does: the node was
    /// deregistered, and the scheduler has recorded them STOPPED already.
    /// </summary>
    public Task StopAllAsync(string reason, CancellationToken cancellation) =>
        Task.WhenAll(_tasks.Values.Where(t => !t.IsStopped).Select(t => StopAsync(t.Id, StopCode.NodeLost, reason, cancellation)));

    /// <summary>Applies one Docker event to the task whose container it is about.</summary>
    public async Task OnEventAsync(RuntimeEvent runtimeEvent, CancellationToken cancellation)
    {
        if (!runtimeEvent.Labels.TryGetValue(ContainerLabels.TaskId, out var taskId) || !_tasks.TryGetValue(taskId, out var task))
        {
            return;
        }

        await task.Gate.WaitAsync(cancellation);
        try
        {
            var container = task.ContainerWithRuntimeId(runtimeEvent.ContainerId);
            if (container is null || task.IsStopped)
            {
                return;
            }

            switch (runtimeEvent.Kind)
            {
                case RuntimeEventKind.OutOfMemory:
                    container.OomKilled = true;
                    break;
                case RuntimeEventKind.HealthChanged when container.Health != runtimeEvent.Health:
                    container.Health = runtimeEvent.Health;
                    await SettleAsync(task, cancellation); // HEALTHY may be met now
                    break;
                case RuntimeEventKind.Died when container.Status != TaskStatus.Stopped:
                    await ContainerDiedAsync(task, container, runtimeEvent.ExitCode, cancellation);
                    break;
            }
        }
        finally
        {
            task.Gate.Release();
        }
    }

    private async Task ContainerDiedAsync(AgentTask task, AgentContainer container, int? exitCode, CancellationToken cancellation)
    {
        var info = await runtime.InspectAsync(container.RuntimeId, cancellation);
        if (info is { Running: true })
        {
            return; // the death of an earlier run: the restart policy has started it again since
        }

        RecordExit(container, info, exitCode);
        if (task.StopRequested)
        {
            if (task.Containers.All(c => c.Status == TaskStatus.Stopped))
            {
                MarkStopped(task, task.StopCode, task.StoppedReason);
                Report(task);
            }

            return;
        }

        await RestartIfItsPolicySaysAsync(task, container, info, cancellation);
        await SettleAsync(task, cancellation);
    }

    private static void RecordExit(AgentContainer container, ContainerInfo? info, int? exitCode)
    {
        container.Status = TaskStatus.Stopped;
        container.ExitCode = exitCode ?? info?.ExitCode;
        container.OomKilled |= info?.OomKilled == true;
        container.Reason = ReasonOf(info, container.OomKilled);
    }

    /// <summary>An essential container is gone: the task's other containers are stopped and the task with them.</summary>
    /// <param name="unmet">A dependency its exit has made impossible, which says more than the exit alone.</param>
    private async Task StopTaskBecauseEssentialExitedAsync(AgentTask task, CancellationToken cancellation, UnmetDependency? unmet = null)
    {
        LogEssentialExited(log, task.Id, task.Containers.First(c => c.Essential && c.Status == TaskStatus.Stopped).Name);
        task.StopCode = StopCode.EssentialContainerExited;
        task.StoppedReason = EssentialExitedReason;
        if (unmet is not null)
        {
            unmet.Container.Reason = unmet.Reason;
            task.StoppedReason = $"{EssentialExitedReason}: {unmet.Reason}";
        }

        await FinishStoppedAsync(task, cancellation);
    }

    /// <summary>Stops every container still running, records their exit codes, and marks the task STOPPED.</summary>
    private async Task FinishStoppedAsync(AgentTask task, CancellationToken cancellation)
    {
        await Task.WhenAll(task.Containers.Where(c => c.RuntimeId.Length > 0 && c.Status != TaskStatus.Stopped && c.HasStarted)
            .Select(c => runtime.StopAsync(c.RuntimeId, TimeSpan.FromSeconds(c.StopTimeoutSeconds), cancellation)));
        foreach (var container in task.Containers.Where(c => c.Status != TaskStatus.Stopped))
        {
            if (!container.HasStarted)
            {
                // Created, or not even that, and waiting for its dependencies: it never runs now.
                container.Status = TaskStatus.Stopped;
                if (container.Reason.Length == 0)
                {
                    container.Reason = NeverStartedReason;
                }

                continue;
            }

            var info = container.RuntimeId.Length > 0 ? await runtime.InspectAsync(container.RuntimeId, cancellation) : null;
            container.Status = TaskStatus.Stopped;
            container.ExitCode ??= info?.ExitCode;
            container.OomKilled |= info?.OomKilled == true;
            if (container.Reason.Length == 0)
            {
                container.Reason = ReasonOf(info, container.OomKilled);
            }
        }

        // Stopped containers hold no network endpoint and read no secret: both go now, not after the
        // retention (the subnet is one of Docker's few, the files are values on the host).
        await _environment.ReleaseAsync(task.Id, cancellation);
        MarkStopped(task, task.StopCode, task.StoppedReason);
        LogStopped(log, task.Id, task.StopCode.ToString(), task.StoppedReason);
        Report(task);
    }

    private void MarkStopped(AgentTask task, StopCode code, string reason)
    {
        task.DependencyTimer?.Dispose();
        task.DependencyTimer = null;
        task.LastStatus = TaskStatus.Stopped;
        task.StopCode = code;
        task.StoppedReason = reason;
        task.StoppedAt = time.GetUtcNow();
    }

    private void Report(AgentTask task) => reports.Report(task.ToReport(time.GetUtcNow()));

    private static string ReasonOf(ContainerInfo? info, bool oomKilled = false)
    {
        if (oomKilled || info?.OomKilled == true)
        {
            return "OOMKilled";
        }

        if (info is null)
        {
            return "the container is gone";
        }

        return info.Error.Length > 0 ? info.Error : "";
    }

    [LoggerMessage(1, LogLevel.Information, "Task {TaskId} ({TaskDefinition}) is running")]
    private static partial void LogStarted(ILogger logger, string taskId, string taskDefinition);

    [LoggerMessage(2, LogLevel.Warning, "Task {TaskId} failed to start: {Reason}")]
    private static partial void LogFailedToStart(ILogger logger, string taskId, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Task {TaskId}: removing the containers of its failed start failed ({Problem}); they are removed at the agent's next start")]
    private static partial void LogFailedStartNotRemoved(ILogger logger, string taskId, string problem);

    [LoggerMessage(3, LogLevel.Information, "Task {TaskId}: essential container {Container} exited")]
    private static partial void LogEssentialExited(ILogger logger, string taskId, string container);

    [LoggerMessage(4, LogLevel.Information, "Task {TaskId} stopped ({StopCode}: {Reason})")]
    private static partial void LogStopped(ILogger logger, string taskId, string stopCode, string reason);
}
