using System.Security.Cryptography;

namespace Orchestrator.Agent.Security;

/// <summary>
/// A cluster's join token, <c>ORCH-1-&lt;SHA-256 of the CA certificate, hex&gt;-&lt;secret&gt;</c> (Swarm's
/// SWMTKN-1-digest-secret). The digest lets the agent recognise the scheduler before it sends the secret.
/// </summary>
internal sealed class JoinToken
{
    private const string Prefix = "ORCH-1-";
    private const int DigestHexLength = SHA256.HashSizeInBytes * 2;

    private JoinToken(string text, byte[] caDigest)
    {
        Text = text;
        CaDigest = caDigest;
    }

    /// <summary>The whole token, as it is sent in JoinRequest. Never log it.</summary>
    public string Text { get; }

    /// <summary>The SHA-256 digest of the CA certificate's DER bytes.</summary>
    public byte[] CaDigest { get; }

    /// <summary>Parses a token; the message of the exception never contains the token's secret.</summary>
    /// <exception cref="FormatException">The token is not ORCH-1-&lt;64 hex digits&gt;-&lt;secret&gt;.</exception>
    public static JoinToken Parse(string text)
    {
        text = text.Trim();
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new FormatException($"Agent:JoinToken must start with {Prefix}");
        }

        var rest = text.AsSpan(Prefix.Length);
        var dash = rest.IndexOf('-');
        if (dash != DigestHexLength || !IsHex(rest[..dash]))
        {
            throw new FormatException($"Agent:JoinToken must be {Prefix}<{DigestHexLength} hex digits of the CA's SHA-256>-<secret>");
        }

        var secret = rest[(dash + 1)..];
        if (secret.IsEmpty || secret.ContainsAny(" \t\r\n"))
        {
            throw new FormatException("Agent:JoinToken has no secret after the CA digest");
        }

        return new JoinToken(text, Convert.FromHexString(rest[..dash]));
    }

    /// <summary>The digest part only, for log lines that say which CA the agent expects.</summary>
    public override string ToString() => $"{Prefix}{Convert.ToHexStringLower(CaDigest)}-…";

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
