using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// The join token, in Swarm's form: "ORCH-1-" + the SHA-256 digest of the CA certificate + "-" + a
/// secret. The digest lets a joining agent check the scheduler before it sends anything; the secret is
/// what lets it join. The store keeps only the secret's hash; the whole token is in join.token in the
/// data directory (owner-only), for the operator to hand to new nodes.
/// </summary>
internal sealed partial class JoinTokens(ClusterState state, ClusterSecurity security, ILogger<JoinTokens> log)
{
    public const string Prefix = "ORCH-1-";
    public const string File = "join.token";

    public string TokenPath => Path.Combine(security.Directory, File);

    /// <summary>A first join token for a scheduler that has none.</summary>
    public void EnsureExists()
    {
        if (!state.HasJoinToken)
        {
            Write();
            LogCreated(log, TokenPath);
        }
    }

    /// <summary>A new join token: the old one no longer joins; nodes that joined keep their certificates.</summary>
    public string Rotate()
    {
        var token = Write();
        LogRotated(log, TokenPath);
        return token;
    }

    private string Write()
    {
        var token = Prefix + security.Ca.Digest + "-" + Secrets.New("");
        SecretFiles.Write(TokenPath, token + "\n");
        state.SetJoinToken(Secrets.Hash(SecretOf(token)));
        return token;
    }

    /// <summary>Why the token does not join this cluster, or null when it does.</summary>
    public JoinTokenProblem? Check(string token)
    {
        var digestLength = security.Ca.Digest.Length;
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length < Prefix.Length + digestLength + 2 || token[Prefix.Length + digestLength] != '-')
        {
            return JoinTokenProblem.Malformed;
        }

        if (!string.Equals(token.Substring(Prefix.Length, digestLength), security.Ca.Digest, StringComparison.OrdinalIgnoreCase))
        {
            return JoinTokenProblem.OtherCa;
        }

        return state.JoinTokenMatches(Secrets.Hash(SecretOf(token))) ? null : JoinTokenProblem.Wrong;
    }

    private string SecretOf(string token) => token[(Prefix.Length + security.Ca.Digest.Length + 1)..];

    [LoggerMessage(LogEvents.JoinTokenCreated, LogLevel.Information, "The join token for new nodes was written to {Path} (owner-only)")]
    private static partial void LogCreated(ILogger logger, string path);

    [LoggerMessage(LogEvents.JoinTokenRotated, LogLevel.Information, "A new join token was written to {Path} (owner-only); the previous one no longer joins")]
    private static partial void LogRotated(ILogger logger, string path);
}

internal enum JoinTokenProblem
{
    Malformed,
    OtherCa,
    Wrong,
}
