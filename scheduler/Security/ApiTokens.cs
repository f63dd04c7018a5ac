using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.Security;

/// <summary>API token secrets, and the bootstrap admin token of a new scheduler.</summary>
internal sealed partial class ApiTokens(ClusterState state, ClusterSecurity security, ILogger<ApiTokens> log)
{
    public const string Prefix = "orch_";
    public const string AdminTokenFile = "admin.token";

    public string AdminTokenPath => Path.Combine(security.Directory, AdminTokenFile);

    /// <summary>
    /// On a scheduler without any token (its first start): an admin token, written owner-only to the
    /// data directory. Its path is logged, never the token.
    /// </summary>
    public void EnsureBootstrapToken()
    {
        if (state.HasTokens)
        {
            return;
        }

        var secret = Secrets.New(Prefix);
        // The file first: a token in the store that nobody can read would lock the cluster.
        SecretFiles.Write(AdminTokenPath, secret + "\n");
        state.CreateToken(Secrets.NewId("tok-"), "bootstrap", ApiRole.Admin, Secrets.Hash(secret));
        LogBootstrap(log, AdminTokenPath);
    }

    [LoggerMessage(LogEvents.AdminTokenCreated, LogLevel.Warning, "First start: an admin API token was written to {Path} (owner-only); use it as \"authorization: Bearer <token>\" and keep it safe")]
    private static partial void LogBootstrap(ILogger logger, string path);
}
