using Microsoft.Extensions.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>Once a second, disconnects the nodes whose agents stopped sending heartbeats.</summary>
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
                state.DisconnectSilentAgents();
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }
}
