using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
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

    /// <summary>
    /// Its placementConstraints, parsed once here (they were validated at registration): every task of
    /// it is placed with them as well as with the request's or the service's own.
    /// </summary>
    public IReadOnlyList<PlacementConstraint> Constraints { get; } =
        Spec.PlacementConstraints.Count == 0 ? [] : RunTaskValidator.Constraints(Spec.PlacementConstraints);

    /// <summary>What its tasks need the node's policy to allow, worked out once.</summary>
    public TaskPolicyDemand Policy { get; } = TaskPolicyDemand.Of(Spec);

    /// <summary>
    /// Its features only Docker runs, worked out once (most definitions have none: the shared empty
    /// list, and their placements skip the runtime filter).
    /// </summary>
    public IReadOnlyList<string> DockerOnly { get; } = Contract.RuntimeSupport.DockerOnlyFeatures(Spec);

    /// <summary>
    /// Its constraints and then <paramref name="added"/> (a RunTask's, a StartTask's or a service's):
    /// both must hold. The list given is answered as it is when the definition has none.
    /// </summary>
    public IReadOnlyList<PlacementConstraint> ConstraintsWith(IReadOnlyList<PlacementConstraint> added) =>
        Constraints.Count == 0 ? added : added.Count == 0 ? Constraints : [.. Constraints, .. added];

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
