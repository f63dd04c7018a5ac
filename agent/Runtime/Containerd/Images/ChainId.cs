using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>Digests of the OCI image spec: the chain id that names a stack of unpacked layers.</summary>
internal static class OciDigest
{
    /// <summary>
    /// The OCI chain id of layers given by their diff ids: chainID(0) = diffID(0),
    /// chainID(n) = sha256(chainID(n-1) + " " + diffID(n)). containerd commits each unpacked layer under
    /// the chain id of the layers up to it, so images sharing a base share its snapshots.
    /// </summary>
    public static IReadOnlyList<string> ChainIds(IReadOnlyList<string> diffIds)
    {
        var chain = new List<string>(diffIds.Count);
        foreach (var diffId in diffIds)
        {
            chain.Add(chain.Count == 0 ? diffId : Sha256(Encoding.UTF8.GetBytes($"{chain[^1]} {diffId}")));
        }

        return chain;
    }

    public static string Sha256(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
