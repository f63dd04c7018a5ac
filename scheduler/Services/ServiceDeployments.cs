using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>New deployments, for a create, an update and a rollback alike.</summary>
internal static class ServiceDeployments
{
    /// <summary>A PRIMARY deployment of this task definition with these overrides, its rollout in progress.</summary>
    public static DeploymentRecord New(string taskDefinitionArn, TaskOverrides? overrides, DateTimeOffset now) =>
        new($"ecs-svc/{Guid.NewGuid():N}"[..24], taskDefinitionArn, DeploymentStatus.Primary, RolloutState.InProgress, "deployment in progress", 0, now, now, overrides);
}
