using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// A revision in memory: its record and its container definitions parsed once, ready to be sent to
/// agents. <see cref="Spec"/> is never mutated after registration.
/// </summary>
internal sealed record TaskDefinitionEntry(TaskDefinitionRecord Record, Contract.TaskDefinition Spec)
{
    /// <summary>Its disconnect.stopAfterSeconds, worked out once; null when the task runs on without the scheduler.</summary>
    public DisconnectPolicy? Disconnect { get; } = DisconnectPolicy.Of(Spec);

    public static TaskDefinitionEntry From(TaskDefinitionRecord record) =>
        new(record, Contract.TaskDefinition.Parser.ParseFrom(record.Spec));
}

/// <summary>All revisions of one family.</summary>
internal sealed class TaskDefinitionFamily(string name)
{
    public string Name { get; } = name;
    public SortedList<int, TaskDefinitionEntry> Revisions { get; } = [];

    public int LatestRevision => Revisions.Count == 0 ? 0 : Revisions.Keys[^1];

    public TaskDefinitionEntry? LatestActive()
    {
        for (var i = Revisions.Count - 1; i >= 0; i--)
        {
            if (Revisions.Values[i].Record.Active)
            {
                return Revisions.Values[i];
            }
        }

        return null;
    }
}
