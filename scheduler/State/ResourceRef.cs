namespace Orchestrator.Scheduler.State;

internal enum ResourceKind
{
    Cluster,
    TaskDefinition,
    Service,
    Task,
    Node,
}

/// <summary>
/// A taggable resource, as named by the resource part of its ECS ARN ("service/prod/web").
/// <see cref="Cluster"/> is empty for clusters and task definitions, which belong to none;
/// <see cref="Name"/> is the cluster's name, "family:revision", the service's or node's name, or the task id.
/// </summary>
internal sealed record ResourceRef(ResourceKind Kind, string Cluster, string Name);
