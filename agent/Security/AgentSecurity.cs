using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Agent.Connection;

namespace Orchestrator.Agent.Security;

/// <summary>
/// How this agent talks to the scheduler, decided once at start from the settings and the state
/// directory: cleartext (an http:// address, a scheduler started with Scheduler:Insecure) or TLS with a
/// node certificate, joining first when there is none (or Agent:Rejoin asks for a new one).
/// </summary>
internal sealed class AgentSecurity
{
    private AgentSecurity(bool enabled, JoinToken? joinToken, X509Certificate2? trustedCa, NodeCredentials? stored, bool mustJoin)
    {
        Enabled = enabled;
        JoinToken = joinToken;
        TrustedCa = trustedCa;
        Stored = stored;
        MustJoin = mustJoin;
    }

    /// <summary>False for an http:// address: no join, no certificates, as before TLS.</summary>
    public bool Enabled { get; }

    public JoinToken? JoinToken { get; }

    /// <summary>Agent:CaCertificate: the operator's CA, trusted for the scheduler instead of the token's digest and the cluster CA.</summary>
    public X509Certificate2? TrustedCa { get; }

    /// <summary>The credentials found in the state directory at start.</summary>
    public NodeCredentials? Stored { get; }

    /// <summary>The agent joins with the join token before it connects.</summary>
    public bool MustJoin { get; }

    public static AgentSecurity Insecure { get; } = new(false, null, null, null, false);

    /// <exception cref="FormatException">A setting is malformed, missing, or contradicts the stored certificate.</exception>
    /// <exception cref="CredentialStoreException">The state directory's credentials cannot be read.</exception>
    public static AgentSecurity FromSettings(AgentOptions options, NodeCredentialStore store)
    {
        // Every address has the same scheme (Parse checks it), so the first says which it is.
        var address = SchedulerAddresses.Parse(options.SchedulerAddress)[0];

        var token = options.JoinToken.Length > 0 ? JoinToken.Parse(options.JoinToken) : null;
        if (address.Scheme == "http")
        {
            return Insecure;
        }

        token ??= ReadTokenFile(options);

        var trustedCa = options.CaCertificate.Length > 0 ? LoadCa(options.CaCertificate) : null;
        var stored = store.Load();
        var mustJoin = stored is null || options.Rejoin;
        if (mustJoin && token is null)
        {
            throw new FormatException(stored is null
                ? $"Agent:JoinToken (or Agent:JoinTokenFile, which must exist) is needed: this node has no certificate in {store.Directory} yet"
                : "Agent:JoinToken is needed with Agent:Rejoin=true: rejoining makes a new key and certificate");
        }

        if (!mustJoin && stored is not null && (stored.NodeName != options.EffectiveNodeName || stored.Cluster is { } cluster && cluster != EffectiveCluster(options)))
        {
            throw new FormatException(
                $"the certificate in {store.Directory} is for node \"{stored.NodeName}\" of cluster \"{stored.Cluster}\", " +
                $"not \"{options.EffectiveNodeName}\" of \"{options.Cluster}\"; to join under the new name, start once with Agent:Rejoin=true and Agent:JoinToken");
        }

        return new AgentSecurity(true, token, trustedCa, stored, mustJoin);
    }

    /// <summary>The token in Agent:JoinTokenFile, once the file exists; else none.</summary>
    private static JoinToken? ReadTokenFile(AgentOptions options)
    {
        if (options.JoinTokenFile.Length == 0)
        {
            return null;
        }

        try
        {
            return File.Exists(options.JoinTokenFile) ? JoinToken.Parse(File.ReadAllText(options.JoinTokenFile)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"Agent:JoinTokenFile {options.JoinTokenFile} cannot be read: {e.Message}", e);
        }
    }

    // An empty cluster means "default", to the scheduler as in RegisterNode.
    private static string EffectiveCluster(AgentOptions options) => options.Cluster.Length > 0 ? options.Cluster : "default";

    private static X509Certificate2 LoadCa(string path)
    {
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new FormatException($"Agent:CaCertificate {path} is not a readable PEM certificate: {e.Message}", e);
        }
    }
}
