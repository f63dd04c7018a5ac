using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Every minute, forgets STOPPED tasks and RunTask receipts older than the retention, and deletes the
/// task definition revisions waiting in DELETE_IN_PROGRESS that nothing uses any more.
/// </summary>
internal sealed class HistoryPruner(ClusterState state, TimeProvider time, ILeadership leadership) : PeriodicWork(time, TimeSpan.FromMinutes(1), leadership)
{
    protected override void Work()
    {
        state.PruneHistory();
        state.FinishTaskDefinitionDeletions();
    }
}
