using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class TaskMapper
{
    /// <summary>
    /// The task's last status on the wire: a RUNNING task asked to stop whose stop is held while its
    /// targets drain is DEACTIVATING, as ECS says it (only here: its state is still RUNNING), and stays so
    /// once the hold is released until its agent reports it STOPPING, so the status only moves forward.
    /// </summary>
    public static Contract.TaskStatus LastStatusOf(TaskRecord task) =>
        task is { LastStatus: TaskState.Running, DesiredStatus: TaskState.Stopped } && (task.DrainUntil is not null || task.DrainedAt is not null)
            ? Contract.TaskStatus.Deactivating
            : WireEnums.ToWire(task.LastStatus);

    /// <param name="nodeConnected">Whether the task's node has its agent now.</param>
    public static Contract.Task ToContract(TaskRecord task, bool nodeConnected = true)
    {
        var result = new Contract.Task
        {
            TaskId = task.Id,
            Cluster = task.Cluster,
            TaskDefinitionArn = task.TaskDefinitionArn,
            Node = task.Node,
            LastStatus = LastStatusOf(task),
            DesiredStatus = WireEnums.ToWire(task.DesiredStatus),
            Group = task.Group,
            StartedBy = task.StartedBy,
            Service = task.Service,
            Cpu = task.Cpu,
            Memory = task.Memory,
            CreatedAt = Timestamps.From(task.CreatedAt),
            StartedAt = Timestamps.From(task.StartedAt),
            StoppingAt = Timestamps.From(task.StoppingAt),
            StoppedAt = Timestamps.From(task.StoppedAt),
            StopCode = WireEnums.ToWire(task.StopCode),
            StoppedReason = task.StoppedReason,
            HealthStatus = WireEnums.ToWire(task.Health),
            Version = task.Version,
            StatusUnknown = !nodeConnected && task.LastStatus != TaskState.Stopped,
        };

        foreach (var container in task.Containers)
        {
            var mapped = new Contract.Container
            {
                Name = container.Name,
                Image = container.Image,
                RuntimeId = container.RuntimeId,
                LastStatus = WireEnums.ToWire(container.LastStatus),
                Reason = container.Reason,
                HealthStatus = WireEnums.ToWire(container.Health),
                Essential = container.Essential,
                RestartCount = container.RestartCount,
            };
            if (container.ExitCode is { } exitCode)
            {
                mapped.ExitCode = exitCode;
            }

            mapped.NetworkBindings.AddRange(container.Bindings.Select(b => new Contract.NetworkBinding
            {
                ContainerName = container.Name,
                ContainerPort = b.ContainerPort,
                HostPort = b.HostPort,
                Protocol = WireEnums.ToWire(b.Protocol),
                BindIp = b.BindIp,
            }));
            result.Containers.Add(mapped);
        }

        result.Tags.AddRange(TagMapper.ToContract(task.Tags));
        if (task.Overrides is { } overrides)
        {
            result.Overrides = TaskOverrideMapper.ToContract(overrides);
        }

        return result;
    }
}
