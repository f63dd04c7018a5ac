using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// Runs before anything else starts: makes sure the CA, the bootstrap admin token and the join token
/// exist, so that the first request can already be authenticated.
/// </summary>
internal sealed class SecurityBootstrap(ClusterSecurity security, ApiTokens apiTokens, JoinTokens joinTokens, SchedulerOptions options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        apiTokens.EnsureBootstrapToken();
        if (!options.Insecure)
        {
            _ = security.ServerCertificate;
            joinTokens.EnsureExists();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
