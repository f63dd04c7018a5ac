namespace Orchestrator.Agent.Runtime;

/// <summary>
/// The labels the agent puts on every container it creates. They are how it finds its containers
/// again after a restart, and the node label keeps agents that share one Docker engine apart.
/// </summary>
internal static class ContainerLabels
{
    public const string TaskId = "orchestrator.task-id";
    public const string Cluster = "orchestrator.cluster";
    public const string TaskDefinition = "orchestrator.task-definition";
    public const string Container = "orchestrator.container";
    public const string Node = "orchestrator.node";
    public const string Essential = "orchestrator.essential";
    public const string StopTimeout = "orchestrator.stop-timeout";
    public const string Group = "orchestrator.group";

    /// <summary>The task definition's disconnect.stopAfterSeconds, so an adopted task keeps its fence.</summary>
    public const string DisconnectStopAfter = "orchestrator.disconnect-stop-after";
}
