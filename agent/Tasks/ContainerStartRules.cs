using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// What decides when the agent starts a container, and whether it starts it again after it exits:
/// its dependsOn and links, its startTimeout (how long others wait for it), whether it has a health
/// check (HEALTHY needs one) and its restart policy.
/// </summary>
internal sealed record ContainerStartRules(
    IReadOnlyList<StartDependency> DependsOn,
    TimeSpan StartTimeout,
    bool HasHealthCheck,
    RestartRules? Restart)
{
    /// <summary>startTimeoutSeconds 0: five minutes, so that no dependency is waited for forever.</summary>
    public const int DefaultStartTimeoutSeconds = 300;

    /// <summary>No dependencies, no restarts: what an adopted container has until its definition is known.</summary>
    public static readonly ContainerStartRules None = new([], TimeSpan.FromSeconds(DefaultStartTimeoutSeconds), false, null);

    public static ContainerStartRules From(ContainerDefinition definition)
    {
        var dependsOn = definition.DependsOn
            .Select(d => new StartDependency(d.ContainerName, d.Condition.ToUpperInvariant()))
            .ToList();

        // A link needs the linked container running when this one starts (Docker refuses a link to a
        // stopped one): an implicit START dependency, as ECS orders linked containers.
        foreach (var link in definition.Links)
        {
            var colon = link.IndexOf(':', StringComparison.Ordinal);
            var linked = new StartDependency(colon < 0 ? link : link[..colon], StartDependency.Start);
            if (!dependsOn.Contains(linked))
            {
                dependsOn.Add(linked);
            }
        }

        return new ContainerStartRules(
            dependsOn,
            TimeSpan.FromSeconds(definition.StartTimeoutSeconds > 0 ? definition.StartTimeoutSeconds : DefaultStartTimeoutSeconds),
            definition.HealthCheck is { Command.Count: > 0 } check && check.Command[0] != "NONE", // ["NONE"] turns the image's check off
            RestartRules.From(definition.RestartPolicy));
    }
}

/// <summary>One dependsOn entry (or a link): start only once <paramref name="Container"/> has reached <paramref name="Condition"/>.</summary>
internal sealed record StartDependency(string Container, string Condition)
{
    public const string Start = "START";
    public const string Complete = "COMPLETE";
    public const string Success = "SUCCESS";
    public const string Healthy = "HEALTHY";
}
