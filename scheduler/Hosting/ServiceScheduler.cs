using Microsoft.Extensions.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Runs the service reconcile pass every second (API changes also run it at once). The pass runs in
/// the clock's own timer callback, not after an awaited tick: with a fake clock, advancing it past a
/// second has run the pass by the time Advance returns, so tests drive passes without waiting for them.
/// A write the store refuses is logged where it failed and tried again on the next tick; any other
/// failure stops the host, as a failed background service does.
/// </summary>
internal sealed class ServiceScheduler(ClusterState state, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    // Held while a pass runs. A real clock's ticks can come while one still runs: they are skipped, not
    // queued behind the state's lock. Kept once stopping, so that no pass starts after the host stops.
    private readonly SemaphoreSlim _passing = new(1, 1);
    private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = time.CreateTimer(_ => Pass(), null, Period, Period);
        try
        {
            await _failed.Task.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await timer.DisposeAsync();
            await _passing.WaitAsync(CancellationToken.None); // a pass under way ends first
        }
    }

    private void Pass()
    {
        if (!_passing.Wait(0))
        {
            return;
        }

        try
        {
            state.ReconcileServices();
        }
        catch (RequestException)
        {
            // The store refused the write and the log says so; the next tick tries again.
        }
        catch (Exception e)
        {
            _failed.TrySetException(e);
        }
        finally
        {
            _passing.Release();
        }
    }
}
