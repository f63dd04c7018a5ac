using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// A validated RunTask request, or a StartTask one (<paramref name="Nodes"/> set): StartTask is RunTask
/// on named nodes, and shares its batching, its client-token receipts and its one commit path.
/// </summary>
/// <param name="RequestHash">Identifies the request's content, to tell a retry from a reused client token.</param>
/// <param name="Overrides">Null when the request overrides nothing.</param>
/// <param name="Nodes">StartTask's nodes: one task on each, no strategy; null for RunTask.</param>
internal sealed record RunTaskCommand(
    string Cluster,
    string TaskDefinition,
    int Count,
    IReadOnlyList<PlacementStrategy> Strategies,
    IReadOnlyList<PlacementConstraint> Constraints,
    string StartedBy,
    string Group,
    string ClientToken,
    string RequestHash,
    IReadOnlyDictionary<string, string>? Tags = null,
    TagPropagation PropagateTags = TagPropagation.None,
    TaskOverrides? Overrides = null,
    IReadOnlyList<string>? Nodes = null)
{
    /// <summary>The call's name, as an error about its client token says it.</summary>
    public string Call => Nodes is null ? "RunTask" : "StartTask";
}

/// <summary>The tasks RunTask placed (as they are now) and what it could not place.</summary>
internal sealed record RunTaskOutcome(IReadOnlyList<TaskRecord> Tasks, IReadOnlyList<ReceiptFailure> Failures);

/// <summary>One RunTask of a group: its outcome, or the reason it was refused.</summary>
internal sealed record RunTaskResult(RunTaskOutcome? Outcome, RequestException? Error);
