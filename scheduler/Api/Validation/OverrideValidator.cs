using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// The overrides of RunTask, StartTask and services' deployments, checked in two steps: their syntax
/// with the request (the same rules as the task definition's fields they replace), then, once the
/// definition is known, against it: every container named must be one of it, and the sizes the
/// overrides give must be as consistent as a registered definition's are. The second step also works
/// out what the task then reserves, once per request (once per reconcile pass for a service).
/// </summary>
internal static class OverrideValidator
{
    private const string Field = "overrides";

    /// <summary>The overrides as the task keeps them; null when the request overrides nothing.</summary>
    public static TaskOverrides? Validate(Contract.TaskOverride? overrides)
    {
        if (overrides is null || (overrides.ContainerOverrides.Count == 0 && overrides.Cpu == 0 && overrides.Memory == 0))
        {
            return null;
        }

        Limits.Count(overrides.ContainerOverrides, Limits.MaxContainers, $"{Field}.containerOverrides");
        TaskDefinitionValidator.CheckRange(overrides.Cpu, 0, Limits.MaxCpu, $"{Field}.cpu", "CPU units");
        if (overrides.Memory != 0)
        {
            TaskDefinitionValidator.CheckRange(overrides.Memory, Limits.MinMemoryMiB, Limits.MaxMemoryMiB, $"{Field}.memory", "MiB");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var containers = new List<ContainerOverrides>(overrides.ContainerOverrides.Count);
        for (var i = 0; i < overrides.ContainerOverrides.Count; i++)
        {
            var container = overrides.ContainerOverrides[i];
            var at = $"{Field}.containerOverrides[{i}]";
            Names.Require(container.Name, $"{at}.name", "container name");
            if (!names.Add(container.Name))
            {
                throw RequestException.Invalid($"{at}.name", $"container \"{Echo.Clip(container.Name)}\" is overridden twice");
            }

            TaskDefinitionValidator.CheckStrings(container.Command, $"{at}.command");
            TaskDefinitionValidator.CheckEnvironment(container.Environment, $"{at}.environment");
            if (container.HasCpu)
            {
                TaskDefinitionValidator.CheckRange(container.Cpu, 0, Limits.MaxCpu, $"{at}.cpu", "CPU units");
            }

            if (container.HasMemory)
            {
                TaskDefinitionValidator.CheckRange(container.Memory, Limits.MinMemoryMiB, Limits.MaxMemoryMiB, $"{at}.memory", "MiB", $"must be at least {Limits.MinMemoryMiB} MiB");
            }

            if (container.HasMemoryReservation)
            {
                TaskDefinitionValidator.CheckRange(container.MemoryReservation, Limits.MinMemoryMiB, Limits.MaxMemoryMiB, $"{at}.memoryReservation", "MiB", $"must be at least {Limits.MinMemoryMiB} MiB");
            }

            containers.Add(new ContainerOverrides(
                container.Name,
                [.. container.Command],
                [.. container.Environment.Select(e => new EnvironmentEntry(e.Name, e.Value))],
                container.HasCpu ? container.Cpu : null,
                container.HasMemory ? container.Memory : null,
                container.HasMemoryReservation ? container.MemoryReservation : null));
        }

        return new TaskOverrides(containers, overrides.Cpu, overrides.Memory);
    }

    /// <summary>
    /// The agent sets a container's secret variables after its environment, so the secret wins: an
    /// override of one would be dropped without a word. Refused instead, naming the secret.
    /// </summary>
    private static void RefuseSecretVariables(ContainerOverrides container, int overrideIndex, Contract.ContainerDefinition definition, int definitionIndex)
    {
        for (var e = 0; e < container.Environment.Count; e++)
        {
            var name = container.Environment[e].Name;
            for (var s = 0; s < definition.Secrets.Count; s++)
            {
                if (!definition.Secrets[s].AsFile && definition.Secrets[s].Name == name)
                {
                    throw RequestException.Invalid($"{Field}.containerOverrides[{overrideIndex}].environment[{e}].name",
                        $"\"{Echo.Clip(name)}\" is given by containerDefinitions[{definitionIndex}].secrets[{s}]");
                }
            }
        }
    }

    /// <summary>
    /// Checks the overrides against the definition and answers what one task reserves with them: the
    /// definition's demand with the overridden sizes, worked out as <see cref="TaskDefinitionValidator"/>
    /// works out a definition's (the ports are the definition's).
    /// </summary>
    public static TaskResourceDemand DemandOf(TaskOverrides overrides, TaskDefinitionEntry definition)
    {
        var spec = definition.Spec;
        var overridden = new Dictionary<string, (ContainerOverrides Override, int Index)>(StringComparer.Ordinal);
        for (var i = 0; i < overrides.Containers.Count; i++)
        {
            var container = overrides.Containers[i];
            var index = spec.ContainerDefinitions.ToList().FindIndex(c => c.Name == container.Name);
            if (index < 0)
            {
                throw RequestException.Invalid($"{Field}.containerOverrides[{i}].name", $"no container named \"{Echo.Clip(container.Name)}\" in {definition.Record.Arn}");
            }

            RefuseSecretVariables(container, i, spec.ContainerDefinitions[index], index);
            overridden[container.Name] = (container, i);
        }

        var changesSizes = overrides.Cpu != 0 || overrides.Memory != 0
            || overrides.Containers.Any(c => c.Cpu is not null || c.Memory is not null || c.MemoryReservation is not null);
        if (!changesSizes)
        {
            return definition.Record.Demand;
        }

        var taskCpu = overrides.Cpu != 0 ? overrides.Cpu : spec.Cpu;
        var taskMemory = overrides.Memory != 0 ? overrides.Memory : spec.Memory;
        var cpuSum = 0L;
        var memorySum = 0L;
        foreach (var container in spec.ContainerDefinitions)
        {
            var (change, index) = overridden.TryGetValue(container.Name, out var found) ? found : (null, -1);
            var at = $"{Field}.containerOverrides[{index}]";
            var memory = change?.Memory ?? container.Memory;
            var reservation = change?.MemoryReservation ?? container.MemoryReservation;

            // The definition was consistent when it was registered: a rule broken now was broken by an
            // override, and the error names the overridden field (the container's where it has one).
            if (memory != 0 && reservation > memory)
            {
                throw RequestException.Invalid(change?.MemoryReservation is not null ? $"{at}.memoryReservation" : $"{at}.memory",
                    $"{reservation} MiB is more than the hard limit, memory = {memory} MiB");
            }

            if (taskMemory != 0 && memory > taskMemory)
            {
                throw RequestException.Invalid(change?.Memory is not null ? $"{at}.memory" : $"{Field}.memory",
                    $"{memory} MiB is more than the task's memory, {taskMemory} MiB");
            }

            cpuSum += change?.Cpu ?? container.Cpu;
            memorySum += reservation != 0 ? reservation : memory;
        }

        if (taskCpu > 0 && cpuSum > taskCpu)
        {
            throw RequestException.Invalid(overrides.Cpu != 0 ? $"{Field}.cpu" : $"{Field}.containerOverrides",
                $"the containers reserve {cpuSum} CPU units, more than the task's {taskCpu}");
        }

        if (taskMemory > 0 && memorySum > taskMemory)
        {
            throw RequestException.Invalid(overrides.Memory != 0 ? $"{Field}.memory" : $"{Field}.containerOverrides",
                $"the containers reserve {memorySum} MiB, more than the task's {taskMemory}");
        }

        return new TaskResourceDemand(
            taskCpu > 0 ? taskCpu : (int)cpuSum,
            taskMemory > 0 ? taskMemory : (int)Math.Min(memorySum, Limits.MaxMemoryMiB),
            definition.Record.Demand.Ports);
    }
}
