using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// Runs before anything else starts: makes sure the CA, the bootstrap admin token and the join token
/// exist, so that the first request can already be authenticated. The tokens are records in the store,
/// which only the leader writes: a standby leaves them to the leader, and makes them itself (when no
/// leader did) as it takes over (<see cref="EnsureTokens"/>, from HA/StandbyFollower). Their files are
/// written where the scheduler that made them runs.
/// </summary>
internal sealed class SecurityBootstrap(ClusterSecurity security, ApiTokens apiTokens, JoinTokens joinTokens, ClusterState state, SchedulerOptions options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Insecure)
        {
            _ = security.ServerCertificate;
        }

        if (state.Writable)
        {
            EnsureTokens();
        }

        return Task.CompletedTask;
    }

    /// <summary>The admin token and the join token, made if the store has none. Call on the leader.</summary>
    public void EnsureTokens()
    {
        apiTokens.EnsureBootstrapToken();
        if (!options.Insecure)
        {
            joinTokens.EnsureExists();
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
