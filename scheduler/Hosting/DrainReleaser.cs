using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.LoadBalancing;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Releases the stops held while tasks drain (<see cref="ClusterState.ReleaseDrains"/>): every second,
/// and at once when the balancers report a change (a task drained before its deadline). Leader only:
/// the holds are stored, so a new leader releases them on time. Like <see cref="ServiceScheduler"/>, a
/// tick runs in the clock's own timer callback, so a fake clock advanced past a deadline has released it
/// by the time Advance returns. It also hands the balancers' verdicts to the state (the service pass
/// reads them); without any (no balancer component in the process) draining still waits for the delay.
/// </summary>
internal sealed class DrainReleaser : IHostedService, IDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly ClusterState _state;
    private readonly TimeProvider _time;
    private readonly ILeadership _leadership;
    private readonly ITargetHealth? _targetHealth;
    private readonly SemaphoreSlim _passing = new(1, 1);
    private int _nudged;
    private volatile bool _stopped;
    private ITimer? _timer;

    public DrainReleaser(ClusterState state, TimeProvider time, ILeadership leadership, ITargetHealth? targetHealth = null)
    {
        _state = state;
        _time = time;
        _leadership = leadership;
        _targetHealth = targetHealth;
        if (targetHealth is not null)
        {
            state.UseTargetHealth(targetHealth);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _time.CreateTimer(_ => Pass(wait: false), null, Period, Period);
        if (_targetHealth is not null)
        {
            _targetHealth.Changed += Nudge;
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        if (_targetHealth is not null)
        {
            _targetHealth.Changed -= Nudge;
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _passing.Dispose();
    }

    /// <summary>Runs a pass soon, off the caller's thread (the balancer's stream); nudges while one is queued fold into it.</summary>
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

    private void Pass(bool wait)
    {
        if (_stopped || !_leadership.IsLeader)
        {
            return;
        }

        // A tick that comes while a pass runs is skipped; a nudge waits for it, so what it reports is seen.
        try
        {
            if (!(wait ? _passing.Wait(Timeout.Infinite) : _passing.Wait(0)))
            {
                return;
            }
        }
        catch (ObjectDisposedException)
        {
            return; // stopped meanwhile
        }

        try
        {
            _state.ReleaseDrains();
        }
        catch (RequestException)
        {
            // The store refused the write and the log says so; the next tick tries again.
        }
        finally
        {
            _passing.Release();
        }
    }
}
