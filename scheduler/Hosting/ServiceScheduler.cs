using Microsoft.Extensions.Hosting;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.LoadBalancing;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Runs the service reconcile pass every second (API changes also run it at once). The pass runs in
/// the clock's own timer callback, not after an awaited tick: with a fake clock, advancing it past a
/// second has run the pass by the time Advance returns, so tests drive passes without waiting for them.
/// A write the store refuses is logged where it failed and tried again on the next tick; any other
/// failure stops the host, as a failed background service does. A pass also runs as soon as the balancers
/// report a change, so a deployment moves on the moment they find its new tasks healthy (and a task they
/// find unhealthy is replaced).
/// </summary>
internal sealed class ServiceScheduler(ClusterState state, TimeProvider time, ILeadership leadership, ITargetHealth? targetHealth = null) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    // Held while a pass runs. A real clock's ticks can come while one still runs: they are skipped, not
    // queued behind the state's lock.
    private readonly SemaphoreSlim _passing = new(1, 1);
    private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ITimer? _timer;

    // Set while a pass asked for by the balancers is queued: more of their changes fold into it.
    private int _nudged;
    private volatile bool _stopped;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Made here, not in ExecuteAsync, which may run later on another thread: the first pass is due a
        // period after the host started, and a clock advanced right after the start runs it.
        _timer = time.CreateTimer(_ => Pass(), null, Period, Period);
        if (targetHealth is not null)
        {
            targetHealth.Changed += Nudge;
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Runs a pass soon, off the reporting stream's thread, waiting for one under way.</summary>
    private void Nudge()
    {
        if (Interlocked.Exchange(ref _nudged, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ =>
            {
                Volatile.Write(ref _nudged, 0);
                Pass(wait: true);
            }, null);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _failed.Task.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Here, not when ExecuteAsync ends: it may not even have begun. A real timer's DisposeAsync also
        // waits for a pass under way, so none runs once the host has stopped.
        _stopped = true;
        if (targetHealth is not null)
        {
            targetHealth.Changed -= Nudge;
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }

        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    /// <param name="wait">Wait for a pass under way (a nudge) rather than skip (a tick).</param>
    private void Pass(bool wait = false)
    {
        // Only the leader reconciles; a standby sees the leader's passes in its commits.
        if (_stopped || !leadership.IsLeader || _failed.Task.IsCompleted || !_passing.Wait(wait ? Timeout.Infinite : 0))
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
