using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>Runs the service reconcile pass every second (API changes also run it at once).</summary>
internal sealed class ServiceScheduler(ClusterState state, TimeProvider time) : PeriodicWork(time, TimeSpan.FromSeconds(1))
{
    protected override void Work() => state.ReconcileServices();
}
