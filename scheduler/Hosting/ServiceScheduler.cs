using Microsoft.Extensions.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>Runs the service reconcile pass every second (API changes also run it at once).</summary>
internal sealed class ServiceScheduler(ClusterState state, TimeProvider time) : BackgroundService
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
                    state.ReconcileServices();
                }
                catch (RequestException)
                {
                    // The store refused a write and the log says so; the next pass tries again.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }
}
