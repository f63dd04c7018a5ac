using Microsoft.Extensions.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>Every minute, forgets STOPPED tasks and RunTask receipts older than the retention.</summary>
internal sealed class HistoryPruner(ClusterState state, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    state.PruneHistory();
                }
                catch (RequestException)
                {
                    // The store refused the write and said so in the log; try again next period.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }
}
