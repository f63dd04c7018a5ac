namespace Orchestrator.Scheduler.Domain;

internal sealed record ClusterRecord(string Name, DateTimeOffset CreatedAt)
{
    public const string DefaultName = "default";

    public IReadOnlyDictionary<string, string> Tags { get; init; } = Domain.Tags.None;
}
