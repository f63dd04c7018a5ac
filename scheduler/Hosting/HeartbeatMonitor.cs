using Microsoft.Extensions.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Once a second, disconnects the nodes whose agents stopped sending heartbeats, and records the tasks
/// of nodes gone longer than the grace as STOPPED (NodeLost).
/// </summary>
internal sealed class HeartbeatMonitor(ClusterState state, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    state.DisconnectSilentAgents();
                    state.StopTasksOfLostNodes();
                }
                catch (RequestException)
                {
                    // The store refused the write and the log says so; the next tick tries again.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }
}
