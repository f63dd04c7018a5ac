using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>
/// The deployment circuit breaker: a deployment in progress with as many failed tasks as the threshold
/// is FAILED. It starts no more tasks, and with rollback the last completed deployment becomes the
/// primary again. Pure.
/// </summary>
internal static class CircuitBreaker
{
    public static ServiceRecord Trip(ServiceRecord service, DateTimeOffset now)
    {
        var primary = service.Primary;
        if (!service.CircuitBreaker || primary.Rollout != RolloutState.InProgress || primary.FailedTasks < service.FailureThreshold)
        {
            return service;
        }

        var reason = $"circuit breaker: {primary.FailedTasks} tasks failed (threshold {service.FailureThreshold})";
        var failed = primary with { Rollout = RolloutState.Failed, RolloutReason = reason, UpdatedAt = now };
        var previous = service.Deployments.Skip(1).FirstOrDefault(d => d.Rollout == RolloutState.Completed);
        if (!service.Rollback || previous is null)
        {
            return (service with { Deployments = [failed, .. service.Deployments.Skip(1)] })
                .WithEvent(now, $"service {service.Name} deployment {primary.Id} failed: {reason}");
        }

        var rollback = ServiceDeployments.New(previous.TaskDefinitionArn, previous.Overrides, now) with { RolloutReason = $"rolling back to {previous.TaskDefinitionArn}" };
        var older = service.Deployments.Skip(1).Select(d => d with { Status = DeploymentStatus.Active });
        return (service with
        {
            Deployments = [rollback, failed with { Status = DeploymentStatus.Active }, .. older],
            ConsecutiveFailures = 0,
            NextStartAt = null,
        }).WithEvent(now, $"service {service.Name} deployment {primary.Id} failed: {reason}; rolling back to {previous.TaskDefinitionArn}");
    }
}
