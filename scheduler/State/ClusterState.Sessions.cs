using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>A task and its node's agent stream as they are now, for a logs or exec session.</summary>
/// <param name="Agent">Null when the node has no agent connected (or the task has no node).</param>
internal sealed record TaskOnNode(TaskRecord Task, IAgentSession? Agent);

/// <summary>What the task sessions (logs, exec) read from the state.</summary>
internal sealed partial class ClusterState
{
    /// <summary>
    /// The task and its node's stream, read together under the lock so that the stream is the one the
    /// node had when the task was looked at. NOT_FOUND for an unknown cluster or task, naming the request's field.
    /// </summary>
    public TaskOnNode TaskOnItsNode(string cluster, string taskId, (string Cluster, string Task) fields)
    {
        lock (_gate)
        {
            RequireCluster(cluster, fields.Cluster);
            var task = _tasks.TryGetValue(taskId, out var found) && found.Cluster == cluster
                ? found
                : throw RequestException.NotFound(fields.Task, $"task \"{taskId}\" does not exist in cluster \"{cluster}\"");
            var agent = task.Node.Length == 0 ? null : _nodes.GetValueOrDefault(NodeRecord.KeyOf(task.Cluster, task.Node))?.Session;
            return new TaskOnNode(task, agent);
        }
    }
}
