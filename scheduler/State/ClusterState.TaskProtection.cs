using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>One task's scale-in protection: until when, or null when it has none (or it expired).</summary>
internal sealed record TaskProtection(string TaskId, DateTimeOffset? ExpiresAt);

/// <summary>
/// Task scale-in protection, as ECS: only for service tasks; the service reconcilers leave protected
/// tasks running through scale-in and deployments until the protection expires or is removed.
/// </summary>
internal sealed partial class ClusterState
{
    public (IReadOnlyList<TaskProtection> Tasks, IReadOnlyList<ReceiptFailure> Failures) UpdateTaskProtection(
        string cluster, IReadOnlyList<string> taskIds, bool enabled, TimeSpan duration)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            var now = Now;
            var failures = new List<ReceiptFailure>();
            var changed = new Dictionary<string, TaskRecord>(StringComparer.Ordinal);
            foreach (var id in taskIds.Distinct(StringComparer.Ordinal))
            {
                if (!_tasks.TryGetValue(id, out var task) || task.Cluster != cluster)
                {
                    failures.Add(new ReceiptFailure(id, "MISSING", $"task \"{id}\" does not exist in cluster \"{cluster}\""));
                }
                else if (task.Service.Length == 0)
                {
                    failures.Add(new ReceiptFailure(id, "TASK_NOT_VALID", $"task \"{id}\" is not a service task; only service tasks can be protected"));
                }
                else if (task.DesiredStatus == TaskState.Stopped || task.LastStatus == TaskState.Stopped)
                {
                    failures.Add(new ReceiptFailure(id, "TASK_NOT_VALID", $"task \"{id}\" is stopped or stopping"));
                }
                else
                {
                    changed[id] = task with { ProtectedUntil = enabled ? now + duration : null, Version = task.Version + 1 };
                }
            }

            if (changed.Count > 0)
            {
                var batch = new WriteBatch();
                batch.Tasks.AddRange(changed.Values);
                Commit(batch);
            }

            return ([.. changed.Values.Select(t => ProtectionOf(t, now))], failures);
        }
    }

    public (IReadOnlyList<TaskProtection> Tasks, IReadOnlyList<ReceiptFailure> Failures) GetTaskProtection(string cluster, IReadOnlyList<string> taskIds)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            var now = Now;
            var found = new List<TaskProtection>();
            var failures = new List<ReceiptFailure>();
            foreach (var id in taskIds.Distinct(StringComparer.Ordinal))
            {
                if (_tasks.TryGetValue(id, out var task) && task.Cluster == cluster)
                {
                    found.Add(ProtectionOf(task, now));
                }
                else
                {
                    failures.Add(new ReceiptFailure(id, "MISSING", $"task \"{id}\" does not exist in cluster \"{cluster}\""));
                }
            }

            return (found, failures);
        }
    }

    private static TaskProtection ProtectionOf(TaskRecord task, DateTimeOffset now) =>
        new(task.Id, task.IsProtected(now) ? task.ProtectedUntil : null);
}
