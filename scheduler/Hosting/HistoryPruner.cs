using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>Every minute, forgets STOPPED tasks and RunTask receipts older than the retention.</summary>
internal sealed class HistoryPruner(ClusterState state, TimeProvider time) : PeriodicWork(time, TimeSpan.FromMinutes(1))
{
    protected override void Work() => state.PruneHistory();
}
