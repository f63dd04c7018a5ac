using Grpc.Core;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.TaskIo;

/// <summary>What a logs or exec call reaches: the task, the container chosen, and its node's agent stream.</summary>
internal sealed record SessionTarget(TaskRecord Task, ContainerRecord Container, IAgentSession Agent)
{
    /// <summary>
    /// Looks the task up and checks that a session can be asked for: the task was placed, the container
    /// is one of its own, (for exec) the task and container are running, and its node's agent is
    /// connected now, since only that agent can read the engine there.
    /// </summary>
    /// <param name="fields">The request's field names: "cluster", "task", "container", or with "start." before each.</param>
    public static SessionTarget Find(ClusterState state, string cluster, string taskId, string container, (string Cluster, string Task, string Container) fields, bool mustRun)
    {
        var (task, agent) = state.TaskOnItsNode(cluster, taskId, (fields.Cluster, fields.Task));
        if (task.Node.Length == 0)
        {
            throw RequestException.Precondition(fields.Task, $"task \"{task.Id}\" was never placed on a node: it has no containers");
        }

        var chosen = ContainerChoice.Resolve(task, container, fields.Container);
        if (mustRun)
        {
            if (task.LastStatus != TaskState.Running)
            {
                throw RequestException.Precondition(fields.Task, $"task \"{task.Id}\" is {StatusName(task.LastStatus)}: commands run only in a RUNNING task");
            }

            if (chosen.LastStatus == TaskState.Stopped)
            {
                throw RequestException.Precondition(fields.Container, $"container \"{chosen.Name}\" of task \"{task.Id}\" is STOPPED: commands run only in a running container");
            }
        }

        return agent is null
            ? throw new RpcException(new Status(StatusCode.Unavailable, $"node {task.Node} of task \"{task.Id}\" has no agent connected: only its agent can reach the task's containers"))
            : new SessionTarget(task, chosen, agent);
    }

    private static string StatusName(TaskState state) => state.ToString().ToUpperInvariant();
}
