using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tasks;

/// <summary>What the supervisor does after restarts: its own, the scheduler's, and Docker's.</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>
    /// At agent start: takes over the containers this node's agent created before (running ones stay
    /// as they are, no restart), so that they can be reported in the registration.
    /// </summary>
    public async Task AdoptAsync(CancellationToken cancellation)
    {
        var containers = await runtime.ListAsync(ContainerLabels.Node, identity.NodeName, cancellation);
        foreach (var group in containers.Where(c => c.Labels.ContainsKey(ContainerLabels.TaskId)).GroupBy(c => c.Labels[ContainerLabels.TaskId]))
        {
            var first = group.First();
            var task = new AgentTask(
                group.Key,
                first.Labels.GetValueOrDefault(ContainerLabels.Cluster, identity.Cluster),
                first.Labels.GetValueOrDefault(ContainerLabels.TaskDefinition, ""),
                ContainerSpecBuilder.StopAfter(first.Labels));
            foreach (var info in group.OrderBy(c => c.Labels.GetValueOrDefault(ContainerLabels.Container, ""), StringComparer.Ordinal))
            {
                // Created but never started: it was waiting for its dependencies when the agent went away.
                var started = info.Running || info.ExitCode is not null || info.StartedAt is not null;
                var container = new AgentContainer(
                    info.Labels.TryGetValue(ContainerLabels.Container, out var name) ? name : info.Id[..Math.Min(12, info.Id.Length)],
                    info.Labels.GetValueOrDefault(ContainerLabels.Essential) != "false",
                    int.TryParse(info.Labels.GetValueOrDefault(ContainerLabels.StopTimeout), out var timeout) ? timeout : ContainerSpecBuilder.DefaultStopTimeoutSeconds)
                {
                    RuntimeId = info.Id,
                    Status = info.Running ? TaskStatus.Running : started ? TaskStatus.Stopped : TaskStatus.Pending,
                    StartedAt = started ? info.StartedAt ?? time.GetUtcNow() : null,
                    ExitCode = info.ExitCode,
                    OomKilled = info.OomKilled,
                    Reason = info.Running || !started ? "" : ReasonOf(info),
                    Health = info.Health,
                    Ports = [.. info.Ports],
                };
                task.Containers.Add(container);
            }

            // Its dependsOn and restart policies are in the task definition, which the scheduler's
            // start command brings back (ReconcileAsync); until then nothing of it starts or restarts.
            task.DefinitionsKnown = false;
            if (!_tasks.TryAdd(task.Id, task))
            {
                continue;
            }

            if (task.Containers.Any(c => c.Essential && c.Status == TaskStatus.Stopped))
            {
                // It died while the agent was away: finish it as the agent would have.
                task.LastStatus = TaskStatus.Running;
                await StopTaskBecauseEssentialExitedAsync(task, cancellation);
            }
            else
            {
                // RUNNING, though some non-essential containers may have stopped; PENDING while some
                // wait for their dependencies.
                task.LastStatus = task.Containers.All(c => c.HasStarted) ? TaskStatus.Running : TaskStatus.Pending;
            }
        }

        LogAdopted(log, _tasks.Count, _tasks.Values.Count(t => t.LastStatus == TaskStatus.Running));
        await _environment.RemoveLeftoversAsync([.. _tasks.Keys], cancellation);
        await runtime.RemoveLeftoversAsync(cancellation);
    }

    /// <summary>
    /// After registering: brings this node in line with what the scheduler has on it. Tasks it wants
    /// run and the agent has are left alone; new ones are started; ones whose containers are gone are
    /// reported STOPPED; ones it wants stopped, or does not know, are stopped.
    /// </summary>
    public async Task ReconcileAsync(Registered registered, CancellationToken cancellation)
    {
        var wanted = registered.StartTasks.ToDictionary(s => s.TaskId, StringComparer.Ordinal);
        var stopping = registered.StopTasks.ToDictionary(s => s.TaskId, StringComparer.Ordinal);
        var work = new List<Task>();
        foreach (var start in registered.StartTasks)
        {
            if (_tasks.TryGetValue(start.TaskId, out var known))
            {
                if (!known.DefinitionsKnown)
                {
                    work.Add(ResumeAdoptedAsync(known, start, cancellation));
                }

                continue;
            }

            if (start.LastStatus is TaskStatus.Provisioning or TaskStatus.Unspecified)
            {
                work.Add(StartAsync(start, cancellation));
            }
            else
            {
                var gone = new AgentTask(start.TaskId, start.Cluster, start.TaskDefinition.TaskDefinitionArn);
                MarkStopped(gone, StopCode.EssentialContainerExited, ContainersGoneReason);
                _tasks.TryAdd(gone.Id, gone);
                Report(gone);
            }
        }

        foreach (var stop in registered.StopTasks)
        {
            work.Add(StopAsync(stop.TaskId, stop.StopCode, stop.Reason, cancellation));
        }

        foreach (var task in _tasks.Values.Where(t => !t.IsStopped && !wanted.ContainsKey(t.Id) && !stopping.ContainsKey(t.Id)))
        {
            LogUnknownTask(log, task.Id);
            work.Add(StopAsync(task.Id, StopCode.Unspecified, "the scheduler does not know this task on this node", cancellation));
        }

        await Task.WhenAll(work);
    }

    /// <summary>
    /// Gives an adopted task its containers' start rules from the scheduler's start command: restart
    /// policies apply again, and containers that were waiting for their dependencies when the agent went
    /// away are started once those are met, as if the agent had never gone (a dependency's startTimeout
    /// counts from that container's start, so one that ran out meanwhile stops the task now).
    /// </summary>
    private async Task ResumeAdoptedAsync(AgentTask task, StartTaskCommand command, CancellationToken cancellation)
    {
        await task.Gate.WaitAsync(cancellation);
        try
        {
            if (task.DefinitionsKnown || task.IsStopped || task.StopRequested)
            {
                return;
            }

            foreach (var definition in command.TaskDefinition.ContainerDefinitions)
            {
                if (task.Containers.FirstOrDefault(c => c.Name == definition.Name) is { } container)
                {
                    container.Rules = ContainerStartRules.From(definition);
                }
            }

            task.DefinitionsKnown = true;
            var missing = command.TaskDefinition.ContainerDefinitions.Select(d => d.Name).Where(name => task.Containers.All(c => c.Name != name)).ToList();
            if (task.LastStatus == TaskStatus.Pending && missing.Count > 0)
            {
                // The agent went away in the middle of creating the containers: the task never ran, and
                // running it without some of them is not running it. A failed start removes what exists.
                await FailToStartAsync(task, $"the agent stopped while creating the task's containers; {string.Join(", ", missing.Select(m => $"\"{m}\""))} never created", cancellation);
                return;
            }

            if (task.LastStatus == TaskStatus.Pending)
            {
                LogResumed(log, task.Id, task.Containers.Count(c => !c.HasStarted));
                await SettleAsync(task, cancellation);
            }
        }
        finally
        {
            task.Gate.Release();
        }
    }

    /// <summary>
    /// After Docker's event stream was lost and is back: looks at every running container of every task
    /// not stopped, so that a death or a health change missed meanwhile is not missed for good, then
    /// settles the tasks still PENDING (a dependsOn HEALTHY met during the outage starts its container
    /// now, not at its startTimeout).
    /// </summary>
    public async Task ResyncAsync(CancellationToken cancellation)
    {
        foreach (var task in _tasks.Values.Where(t => !t.IsStopped))
        {
            var labels = new Dictionary<string, string> { [ContainerLabels.TaskId] = task.Id };
            foreach (var container in task.Containers.Where(c => c.Status == TaskStatus.Running).ToList())
            {
                var info = await runtime.InspectAsync(container.RuntimeId, cancellation);
                if (info is null || !info.Running)
                {
                    await OnEventAsync(new RuntimeEvent(RuntimeEventKind.Died, container.RuntimeId, labels, info?.ExitCode, ContainerHealth.None), cancellation);
                }
                else if (info.Health != container.Health)
                {
                    await OnEventAsync(new RuntimeEvent(RuntimeEventKind.HealthChanged, container.RuntimeId, labels, null, info.Health), cancellation);
                }
            }

            await SettlePendingAsync(task, cancellation);
        }
    }

    private async Task SettlePendingAsync(AgentTask task, CancellationToken cancellation)
    {
        await task.Gate.WaitAsync(cancellation);
        try
        {
            if (task.LastStatus == TaskStatus.Pending && task.DefinitionsKnown)
            {
                await SettleAsync(task, cancellation);
            }
        }
        finally
        {
            task.Gate.Release();
        }
    }

    /// <summary>Removes the containers of tasks stopped longer ago than the retention, and forgets those tasks.</summary>
    public async Task RemoveExpiredAsync(TimeSpan retention, CancellationToken cancellation)
    {
        var cutoff = time.GetUtcNow() - retention;
        foreach (var task in _tasks.Values.Where(t => t.IsStopped && t.StoppedAt <= cutoff).ToList())
        {
            await task.Gate.WaitAsync(cancellation);
            try
            {
                foreach (var container in task.Containers.Where(c => c.RuntimeId.Length > 0))
                {
                    await runtime.RemoveAsync(container.RuntimeId, cancellation);
                }

                await _environment.RemoveAsync(task.Id, cancellation);
                _tasks.TryRemove(task.Id, out _);
            }
            finally
            {
                task.Gate.Release();
            }
        }
    }

    [LoggerMessage(10, LogLevel.Information, "Adopted {Tasks} tasks from containers already on this node ({Running} running)")]
    private static partial void LogAdopted(ILogger logger, int tasks, int running);

    [LoggerMessage(12, LogLevel.Information, "Task {TaskId}: adopted with {Waiting} containers not started yet; they start once their dependencies are met")]
    private static partial void LogResumed(ILogger logger, string taskId, int waiting);

    [LoggerMessage(11, LogLevel.Warning, "Task {TaskId} is not known to the scheduler on this node; stopping it")]
    private static partial void LogUnknownTask(ILogger logger, string taskId);
}
