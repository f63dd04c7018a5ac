using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Orchestrator.Cli.Connection;

/// <summary>
/// The cluster CA given with --ca-cert: the scheduler's certificate must chain to exactly this CA (no
/// system roots), as grpcurl -cacert does. Without it the system's roots decide.
/// </summary>
internal sealed class ClusterCa
{
    private readonly X509Certificate2 _ca;

    private ClusterCa(X509Certificate2 ca) => _ca = ca;

    public static ClusterCa Load(string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--ca-cert {path}: {e.Message}");
        }

        try
        {
            return new ClusterCa(X509Certificate2.CreateFromPem(pem));
        }
        catch (CryptographicException e)
        {
            throw new CliException($"--ca-cert {path}: not a PEM certificate ({e.Message})");
        }
    }

    public bool Issued(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
