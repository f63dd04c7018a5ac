using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class TaskDefinitionMapper
{
    /// <summary>The stored spec with its current status; the shared spec itself is never changed.</summary>
    public static Contract.TaskDefinition ToContract(TaskDefinitionEntry entry)
    {
        var result = entry.Spec.Clone();
        result.Status = entry.Record.Active ? Contract.TaskDefinitionStatus.Active : Contract.TaskDefinitionStatus.Inactive;
        result.RegisteredAt = Timestamps.From(entry.Record.RegisteredAt);
        result.DeregisteredAt = Timestamps.From(entry.Record.DeregisteredAt);
        return result;
    }
}
