using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Four times a second, disconnects the nodes whose agents stopped sending heartbeats, and records the
/// tasks of nodes gone longer than the grace as STOPPED (NodeLost). The short period keeps detection
/// within the heartbeat timeout itself (15 s by default), not the timeout plus a tick.
/// </summary>
internal sealed class HeartbeatMonitor(ClusterState state, TimeProvider time, ILeadership leadership) : PeriodicWork(time, TimeSpan.FromMilliseconds(250), leadership)
{
    protected override void Work()
    {
        state.DisconnectSilentAgents();
        state.StopTasksOfLostNodes();
    }
}
