using Microsoft.Extensions.Hosting;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Runs a piece of the leader's state work on a period of the injected clock (so tests drive it with a
/// fake one); a standby skips its ticks (the leader does the work, and the standby sees its commits).
/// A write the store refuses is logged where it failed and tried again on the next tick.
/// </summary>
internal abstract class PeriodicWork(TimeProvider time, TimeSpan period, ILeadership leadership) : BackgroundService
{
    protected abstract void Work();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!leadership.IsLeader)
                {
                    continue;
                }

                try
                {
                    Work();
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
