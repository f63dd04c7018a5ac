using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Scheduler.Security;

/// <summary>Random secrets and their hashes. Secrets are 256 random bits, so a plain SHA-256 is enough to store them.</summary>
internal static class Secrets
{
    public static string New(string prefix) => prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
