namespace Orchestrator.Scheduler.Domain;

internal sealed record ClusterRecord(string Name, DateTimeOffset CreatedAt)
{
    public const string DefaultName = "default";
}
