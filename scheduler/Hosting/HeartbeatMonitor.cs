using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Once a second, disconnects the nodes whose agents stopped sending heartbeats, and records the tasks
/// of nodes gone longer than the grace as STOPPED (NodeLost).
/// </summary>
internal sealed class HeartbeatMonitor(ClusterState state, TimeProvider time) : PeriodicWork(time, TimeSpan.FromSeconds(1))
{
    protected override void Work()
    {
        state.DisconnectSilentAgents();
        state.StopTasksOfLostNodes();
    }
}
