using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;

namespace Orchestrator.Agent.Sessions;

/// <summary>Finds a task's container on this node by its labels, running or stopped (while it is retained).</summary>
internal static class TaskContainers
{
    /// <returns>The running one, else the one that ran last; null when the node has none.</returns>
    public static async Task<ContainerInfo?> FindAsync(IContainerRuntime runtime, AgentIdentity identity, string taskId, string container, CancellationToken cancellation)
    {
        var listed = await runtime.ListAsync(ContainerLabels.TaskId, taskId, cancellation);

        // The engine may be shared with other nodes' agents (Compose): only this node's containers count.
        return listed
            .Where(c => Label(c, ContainerLabels.Container) == container && Label(c, ContainerLabels.Node) == identity.NodeName)
            .OrderByDescending(c => c.Running)
            .ThenByDescending(c => c.StartedAt ?? DateTimeOffset.MinValue)
            .FirstOrDefault();
    }

    /// <summary>The NotFound message of a container that is not (or no longer) on this node.</summary>
    public static string Gone(AgentIdentity identity, string taskId, string container) =>
        $"container {container} of task {taskId} is gone from node {identity.NodeName}";

    private static string? Label(ContainerInfo info, string key) => info.Labels.TryGetValue(key, out var value) ? value : null;
}
