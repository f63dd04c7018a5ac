using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class ServiceMapper
{
    public static Contract.Service ToContract(ServiceView view)
    {
        var service = view.Service;
        var result = new Contract.Service
        {
            Cluster = service.Cluster,
            Name = service.Name,
            Status = service.Deleting ? "DRAINING" : "ACTIVE",
            // An EXTERNAL service's: its PRIMARY task set's, if it has one.
            TaskDefinition = service.Deployments.FirstOrDefault(d => d.Status == DeploymentStatus.Primary)?.TaskDefinitionArn ?? "",
            DesiredCount = service.DesiredCount,
            RunningCount = view.Running,
            PendingCount = view.Pending,
            DeploymentConfiguration = new Contract.DeploymentConfiguration
            {
                MinimumHealthyPercent = service.MinimumHealthyPercent,
                MaximumPercent = service.MaximumPercent,
                DeploymentCircuitBreaker = new Contract.DeploymentCircuitBreaker { Enable = service.CircuitBreaker, Rollback = service.Rollback },
            },
            HealthCheckGracePeriodSeconds = service.HealthCheckGracePeriodSeconds,
            CreatedAt = Timestamps.From(service.CreatedAt),
            SchedulingStrategy = service.Daemon ? "DAEMON" : "REPLICA",
            PropagateTags = service.PropagateTags switch
            {
                TagPropagation.Service => "SERVICE",
                TagPropagation.TaskDefinition => "TASK_DEFINITION",
                _ => "NONE",
            },
        };
        if (service.Deployments.Count > 0 && service.Primary.Overrides is { } primaryOverrides)
        {
            result.Overrides = TaskOverrideMapper.ToContract(primaryOverrides);
        }

        result.Tags.AddRange(TagMapper.ToContract(service.Tags));
        result.LoadBalancers.AddRange(service.LoadBalancers.Select(TargetGroupMapper.ToContract));
        result.DeploymentController = new Contract.DeploymentController { Type = service.External ? "EXTERNAL" : "ECS" };
        result.PlacementStrategy.AddRange(service.Strategies.Select(s => new Contract.PlacementStrategy { Type = s.Type, Field = s.Field }));
        result.PlacementConstraints.AddRange(service.Constraints.Select(c => new Contract.PlacementConstraint { Type = c.Type, Expression = c.Expression }));
        if (service.External)
        {
            // Its deployments are its task sets, shown as such (ECS shows no deployments for them).
            result.TaskSets.AddRange(service.Deployments.Select(d => TaskSetMapper.ToContract(view, d)));
        }

        result.Deployments.AddRange(service.Deployments.Where(_ => !service.External).Select(d =>
        {
            var (running, pending) = view.PerDeployment.GetValueOrDefault(d.Id);
            var deployment = new Contract.Deployment
            {
                Id = d.Id,
                Status = d.Status.ToString().ToUpperInvariant(),
                TaskDefinition = d.TaskDefinitionArn,
                DesiredCount = d.Status == DeploymentStatus.Primary ? service.DesiredCount : 0,
                RunningCount = running,
                PendingCount = pending,
                FailedTasks = d.FailedTasks,
                RolloutState = d.Rollout switch { RolloutState.Completed => "COMPLETED", RolloutState.Failed => "FAILED", _ => "IN_PROGRESS" },
                RolloutStateReason = d.RolloutReason,
                CreatedAt = Timestamps.From(d.CreatedAt),
                UpdatedAt = Timestamps.From(d.UpdatedAt),
            };
            if (d.Overrides is { } overrides)
            {
                deployment.Overrides = TaskOverrideMapper.ToContract(overrides);
            }

            return deployment;
        }));
        result.Events.AddRange(service.Events.Select(e => new Contract.ServiceEvent { Id = e.Id, CreatedAt = Timestamps.From(e.CreatedAt), Message = e.Message }));
        return result;
    }
}
