using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// RunTask's overrides (ECS's containerOverrides) applied to copies of the task definition's
/// containers: what the agent creates. The start command itself is left as it came.
/// </summary>
internal static class TaskOverrides
{
    public static IReadOnlyList<ContainerDefinition> Apply(IReadOnlyList<ContainerDefinition> definitions, TaskOverride? overrides)
    {
        if (overrides is null || overrides.ContainerOverrides.Count == 0)
        {
            return definitions;
        }

        return [.. definitions.Select(d => overrides.ContainerOverrides.Where(o => o.Name == d.Name).Aggregate(d, Apply))];
    }

    /// <summary>command replaces when not empty; environment entries are added, one of the same name replaced; cpu and memory sizes replace when given.</summary>
    public static ContainerDefinition Apply(ContainerDefinition definition, ContainerOverride container)
    {
        var result = definition.Clone();
        if (container.Command.Count > 0)
        {
            result.Command.Clear();
            result.Command.AddRange(container.Command);
        }

        foreach (var variable in container.Environment)
        {
            var replaced = false;
            for (var i = 0; i < result.Environment.Count; i++)
            {
                if (result.Environment[i].Name == variable.Name)
                {
                    result.Environment[i] = variable.Clone();
                    replaced = true;
                }
            }

            if (!replaced)
            {
                result.Environment.Add(variable.Clone());
            }
        }

        if (container.HasCpu)
        {
            result.Cpu = container.Cpu;
        }

        if (container.HasMemory)
        {
            result.Memory = container.Memory;
        }

        if (container.HasMemoryReservation)
        {
            result.MemoryReservation = container.MemoryReservation;
        }

        return result;
    }
}
