using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Folds an agent's task report into the task. Pure. Statuses only move forward, so a report that
/// arrives twice, or late, after a newer one, changes nothing: that is what lets agents resend
/// unacknowledged reports freely.
/// </summary>
internal static class TaskReports
{
    /// <returns>The updated task, or null when the report changes nothing.</returns>
    public static TaskRecord? Apply(TaskRecord task, Contract.TaskStateReport report, DateTimeOffset now)
    {
        if (task.LastStatus == TaskState.Stopped)
        {
            return null;
        }

        var reported = WireEnums.ToDomain(report.LastStatus) ?? task.LastStatus;
        if (reported != task.LastStatus && !TaskStateMachine.CanMove(task.LastStatus, reported))
        {
            return null; // older than what we know
        }

        var at = report.ObservedAt?.ToDateTimeOffset() ?? now;
        var containers = task.Containers.Select(c => Merge(c, report.Containers.FirstOrDefault(r => r.Name == c.Name), reported)).ToList();
        var changed = reported != task.LastStatus || !containers.SequenceEqual(task.Containers, ContainerComparer.Instance);
        if (!changed)
        {
            return null;
        }

        var updated = task with
        {
            LastStatus = reported,
            Containers = containers,
            Health = Aggregate(containers),
            Version = task.Version + 1,
        };

        if (reported == TaskState.Running && updated.StartedAt is null)
        {
            updated = updated with { StartedAt = at };
        }

        if (reported is TaskState.Stopping or TaskState.Stopped && updated.StoppingAt is null)
        {
            updated = updated with { StoppingAt = at };
        }

        if (reported == TaskState.Stopped)
        {
            // A stop the scheduler asked for keeps its own code and reason; otherwise the agent says why.
            var code = task.StopCode != TaskStopCode.None ? task.StopCode : WireEnums.ToDomain(report.StopCode);
            var reason = task.StoppedReason.Length > 0 ? task.StoppedReason : report.StoppedReason;
            updated = updated with
            {
                DesiredStatus = TaskState.Stopped,
                StoppedAt = at,
                StopCode = code,
                StoppedReason = reason,
                DrainUntil = null, // gone: a held stop has nothing left to wait for
            };
        }

        return updated;
    }

    private static ContainerRecord Merge(ContainerRecord container, Contract.ContainerState? report, TaskState taskState)
    {
        if (report is null)
        {
            // A stopped task has no running containers, reported or not.
            return taskState == TaskState.Stopped && container.LastStatus != TaskState.Stopped
                ? container with { LastStatus = TaskState.Stopped }
                : container;
        }

        var status = WireEnums.ToDomain(report.LastStatus) is { } s && TaskStateMachine.CanMove(container.LastStatus, s) ? s : container.LastStatus;
        var bindings = container.Bindings.Select(b =>
        {
            var seen = report.NetworkBindings.FirstOrDefault(r => r.ContainerPort == b.ContainerPort && WireEnums.ToDomain(r.Protocol) == b.Protocol);
            return seen is null || seen.BindIp.Length == 0 ? b : b with { BindIp = seen.BindIp };
        }).ToList();

        return container with
        {
            LastStatus = status,
            RuntimeId = report.RuntimeId.Length > 0 ? report.RuntimeId : container.RuntimeId,
            ExitCode = report.HasExitCode ? report.ExitCode : container.ExitCode,
            Reason = report.Reason.Length > 0 ? report.Reason : container.Reason,
            Health = WireEnums.ToDomain(report.HealthStatus),
            Bindings = bindings,
            // Only grows: a report resent after a newer one (a reconnect) must not undo a restart.
            RestartCount = Math.Max(container.RestartCount, report.RestartCount),
        };
    }

    /// <summary>UNHEALTHY if an essential container is; HEALTHY if every essential one with a check is.</summary>
    private static HealthState Aggregate(IReadOnlyList<ContainerRecord> containers)
    {
        var essential = containers.Where(c => c.Essential).ToList();
        if (essential.Any(c => c.Health == HealthState.Unhealthy))
        {
            return HealthState.Unhealthy;
        }

        return essential.Count > 0 && essential.All(c => c.Health == HealthState.Healthy) ? HealthState.Healthy : HealthState.Unknown;
    }

    private sealed class ContainerComparer : IEqualityComparer<ContainerRecord>
    {
        public static readonly ContainerComparer Instance = new();

        public bool Equals(ContainerRecord? x, ContainerRecord? y) =>
            x is not null && y is not null
            && x.Name == y.Name && x.Image == y.Image && x.Essential == y.Essential
            && x.LastStatus == y.LastStatus && x.RuntimeId == y.RuntimeId && x.ExitCode == y.ExitCode
            && x.Reason == y.Reason && x.Health == y.Health && x.RestartCount == y.RestartCount
            && x.Bindings.SequenceEqual(y.Bindings);

        public int GetHashCode(ContainerRecord obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
