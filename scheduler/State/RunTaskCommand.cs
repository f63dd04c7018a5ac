using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>A validated RunTask request.</summary>
/// <param name="RequestHash">Identifies the request's content, to tell a retry from a reused client token.</param>
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
    TagPropagation PropagateTags = TagPropagation.None);

/// <summary>The tasks RunTask placed (as they are now) and what it could not place.</summary>
internal sealed record RunTaskOutcome(IReadOnlyList<TaskRecord> Tasks, IReadOnlyList<ReceiptFailure> Failures);

/// <summary>One RunTask of a group: its outcome, or the reason it was refused.</summary>
internal sealed record RunTaskResult(RunTaskOutcome? Outcome, RequestException? Error);
