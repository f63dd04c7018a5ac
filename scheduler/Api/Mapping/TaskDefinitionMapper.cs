using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class TaskDefinitionMapper
{
    /// <summary>The stored spec with its current status; the shared spec itself is never changed.</summary>
    public static Contract.TaskDefinition ToContract(TaskDefinitionEntry entry)
    {
        var result = entry.Spec.Clone();
        result.Status = ToContract(entry.Record.State);
        result.RegisteredAt = Timestamps.From(entry.Record.RegisteredAt);
        result.DeregisteredAt = Timestamps.From(entry.Record.DeregisteredAt);
        return result;
    }

    public static Contract.TaskDefinitionStatus ToContract(TaskDefinitionState state) => state switch
    {
        TaskDefinitionState.Active => Contract.TaskDefinitionStatus.Active,
        TaskDefinitionState.Inactive => Contract.TaskDefinitionStatus.Inactive,
        TaskDefinitionState.DeleteInProgress => Contract.TaskDefinitionStatus.DeleteInProgress,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "no such task definition status"),
    };
}
