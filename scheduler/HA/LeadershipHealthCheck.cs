using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// The scheduler's health as one of several: healthy as the leader, healthy as a standby that knows
/// where the leader is (it forwards to it), unhealthy once deposed (it refuses writes until its restart)
/// or while no leader is known (nothing can be written anywhere it can see).
/// </summary>
internal sealed class LeadershipHealthCheck(ILeadership leadership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (leadership.IsLeader)
        {
            return Task.FromResult(HealthCheckResult.Healthy("leader"));
        }

        // Deposed is only ever cancelled for a scheduler that led: it no longer may, and restarts.
        if (!leadership.Deposed.IsCancellationRequested && leadership.LeaderAddress is { } leader)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"standby; leader at {leader}"));
        }

        return Task.FromResult(HealthCheckResult.Unhealthy(leadership.NotLeaderReason ?? "not the leader"));
    }
}
