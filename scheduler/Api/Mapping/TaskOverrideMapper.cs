using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

/// <summary>A task's overrides as the API shows them and as its agent's start command carries them.</summary>
internal static class TaskOverrideMapper
{
    public static Contract.TaskOverride ToContract(TaskOverrides overrides)
    {
        var result = new Contract.TaskOverride { Cpu = overrides.Cpu, Memory = overrides.Memory };
        foreach (var container in overrides.Containers)
        {
            var mapped = new Contract.ContainerOverride { Name = container.Name };
            mapped.Command.AddRange(container.Command);
            mapped.Environment.AddRange(container.Environment.Select(e => new Contract.EnvironmentVariable { Name = e.Name, Value = e.Value }));
            if (container.Cpu is { } cpu)
            {
                mapped.Cpu = cpu;
            }

            if (container.Memory is { } memory)
            {
                mapped.Memory = memory;
            }

            if (container.MemoryReservation is { } reservation)
            {
                mapped.MemoryReservation = reservation;
            }

            result.ContainerOverrides.Add(mapped);
        }

        return result;
    }
}
