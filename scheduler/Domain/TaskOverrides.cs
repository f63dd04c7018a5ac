namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// What one run of a task changes in its definition (ECS's overrides), as RunTask or StartTask gave
/// them or as a service's deployment has them, validated against the definition. The task keeps them: they are shown with it and sent to
/// its agent, which applies them to the containers it creates; placement reserved the sizes they give.
/// </summary>
/// <param name="Cpu">Task-level CPU units; 0 keeps the definition's.</param>
/// <param name="Memory">Task-level MiB; 0 keeps the definition's.</param>
internal sealed record TaskOverrides(IReadOnlyList<ContainerOverrides> Containers, int Cpu, int Memory)
{
    /// <summary>
    /// The same overrides, field by field and in the order given (a record's own equality compares its
    /// lists by reference). A service starts a new deployment only when its overrides change by this.
    /// </summary>
    public static bool Same(TaskOverrides? a, TaskOverrides? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null && a.Cpu == b.Cpu && a.Memory == b.Memory
            && a.Containers.Count == b.Containers.Count && a.Containers.Zip(b.Containers).All(p => ContainerOverrides.Same(p.First, p.Second)));
}

/// <summary>One container's overrides.</summary>
/// <param name="Command">Replaces the definition's command when not empty.</param>
/// <param name="Environment">Added to the definition's; a name it has is replaced.</param>
internal sealed record ContainerOverrides(
    string Name,
    IReadOnlyList<string> Command,
    IReadOnlyList<EnvironmentEntry> Environment,
    int? Cpu = null,
    int? Memory = null,
    int? MemoryReservation = null)
{
    public static bool Same(ContainerOverrides a, ContainerOverrides b) =>
        a.Name == b.Name && a.Cpu == b.Cpu && a.Memory == b.Memory && a.MemoryReservation == b.MemoryReservation
        && a.Command.SequenceEqual(b.Command) && a.Environment.SequenceEqual(b.Environment);
}

internal sealed record EnvironmentEntry(string Name, string Value);
