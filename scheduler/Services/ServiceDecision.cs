using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>The nodes a DAEMON service is aimed at, as the state found them for one pass.</summary>
/// <param name="Wanted">ACTIVE nodes that meet the service's constraints, connected or not.</param>
/// <param name="Startable">Of those, the ones a task can be started on now (agent connected).</param>
internal sealed record DaemonTargets(IReadOnlySet<string> Wanted, IReadOnlySet<string> Startable);

/// <summary>One placement a pass asks for: new tasks of the primary deployment, or of one task set.</summary>
/// <param name="Node">For a DAEMON service, the one node to place on; null to place anywhere.</param>
/// <param name="Deployment">The deployment (task set) the new tasks belong to and run the definition of; null for the primary.</param>
internal sealed record ServiceStart(int Count, string? Node = null, string? Deployment = null);

/// <summary>
/// What one pass does to one service, decided by <see cref="ServiceController.Decide"/>. The caller
/// places <see cref="Starts"/> in order, folding each outcome into the record with
/// <see cref="ServiceController.Placed"/>, and commits it all in one batch.
/// </summary>
/// <param name="Service">The record as the pass leaves it, before the placement outcomes.</param>
/// <param name="FailuresCounted">Failed tasks counted now, already marked so: stored in the same batch, so no later pass counts them again.</param>
/// <param name="Stops">Live tasks to stop.</param>
/// <param name="Starts">Placements to run, in order.</param>
/// <param name="Remove">The service is being deleted and nothing of it runs any more: its record goes.</param>
internal sealed record ServiceDecision(
    ServiceRecord Service,
    IReadOnlyList<TaskRecord> FailuresCounted,
    IReadOnlyList<TaskStop> Stops,
    IReadOnlyList<ServiceStart> Starts,
    bool Remove);
