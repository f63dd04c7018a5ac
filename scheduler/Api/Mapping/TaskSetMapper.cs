using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Services;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class TaskSetMapper
{
    public static Contract.TaskSet ToContract(TaskSetView view) => ToContract(view.Service, view.Set);

    /// <summary>A task set with its counts worked out: computed desired count, running, pending, stability.</summary>
    public static Contract.TaskSet ToContract(ServiceView view, DeploymentRecord set)
    {
        var service = view.Service;
        var (running, pending) = view.PerDeployment.GetValueOrDefault(set.Id);
        var healthy = view.HealthyPerDeployment?.GetValueOrDefault(set.Id) ?? 0;
        var computed = TaskSets.TargetOf(service, set);
        return new Contract.TaskSet
        {
            Id = set.Id,
            Cluster = service.Cluster,
            Service = service.Name,
            ExternalId = set.ExternalId,
            Status = TaskSets.StatusName(set.Status),
            TaskDefinition = set.TaskDefinitionArn,
            Scale = new Contract.Scale { Value = set.Scale ?? TaskSets.DefaultScale, Unit = "PERCENT" },
            ComputedDesiredCount = computed,
            RunningCount = running,
            PendingCount = pending,
            StabilityStatus = TaskSets.Steady(computed, running, pending, healthy) ? "STEADY_STATE" : "STABILIZING",
            CreatedAt = Timestamps.From(set.CreatedAt),
            UpdatedAt = Timestamps.From(set.UpdatedAt),
        };
    }
}
