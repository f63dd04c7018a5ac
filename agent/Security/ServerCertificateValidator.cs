using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Agent.Security;

/// <summary>
/// Decides whether the scheduler's TLS certificate is the cluster's. The system's trust store plays no
/// part: the one anchor is the cluster CA (checked against the join token's digest before joining, or
/// the one the node trusts since, or the operator's Agent:CaCertificate). The host name check stays on.
/// </summary>
internal sealed partial class ServerCertificateValidator
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    private readonly Func<X509Certificate2?> _anchor;
    private readonly string _anchorDescription;
    private readonly ILogger _log;

    private ServerCertificateValidator(Func<X509Certificate2?> anchor, string anchorDescription, ILogger log)
    {
        _anchor = anchor;
        _anchorDescription = anchorDescription;
        _log = log;
    }

    /// <summary>Accepts a server whose certificate the CA that <paramref name="ca"/> answers at the time issued.</summary>
    public static ServerCertificateValidator Trusting(Func<X509Certificate2?> ca, string description, ILogger log) =>
        new(ca, description, log);

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            LogRefused(_log, "it presented no certificate");
            return false;
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            LogRefused(_log, $"its certificate ({certificate.Subject}) does not name the host in Agent:SchedulerAddress");
            return false;
        }

        // The chain errors the platform found are ignored: it checked against the system's roots,
        // which do not (and must not) matter here.
        using var copy = certificate is X509Certificate2 ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var server = certificate as X509Certificate2 ?? copy!;
        var presented = Presented(server, chain);
        var anchor = _anchor();
        if (anchor is null)
        {
            LogRefused(_log, $"there is no CA to check it against ({_anchorDescription})");
            return false;
        }

        if (IssuedBy(server, anchor, presented) is { } problem)
        {
            LogRefused(_log, $"its certificate ({server.Subject}) was not issued by {_anchorDescription}: {problem}");
            return false;
        }

        return true;
    }

    /// <returns>Null when <paramref name="server"/> chains to <paramref name="anchor"/>; else what is wrong.</returns>
    private static string? IssuedBy(X509Certificate2 server, X509Certificate2 anchor, IReadOnlyList<X509Certificate2> presented)
    {
        using var own = new X509Chain();
        own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        own.ChainPolicy.CustomTrustStore.Add(anchor);
        own.ChainPolicy.ExtraStore.AddRange(presented.Where(p => !p.Equals(server)).ToArray());
        own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // a self-made CA publishes no revocation lists
        own.ChainPolicy.ApplicationPolicy.Add(ServerAuthentication);
        if (!anchor.SubjectName.RawData.AsSpan().SequenceEqual(anchor.IssuerName.RawData))
        {
            // A CA with an issuer of its own is the anchor all the same: the chain ends at it (partial
            // to the platform), every signature up to it checked. A .NET scheduler needs such a CA to
            // send it at all: TLS servers on .NET never send a self-signed root.
            own.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        }

        if (!own.Build(server))
        {
            return string.Join("; ", own.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
        }

        var root = own.ChainElements[^1].Certificate;
        return root.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span) ? null : "it chains to another root";
    }

    /// <summary>Every certificate the server sent: TLS hands the ones after the leaf to the chain's extra store.</summary>
    private static List<X509Certificate2> Presented(X509Certificate2 server, X509Chain? chain)
    {
        var presented = new List<X509Certificate2> { server };
        if (chain is not null)
        {
            presented.AddRange(chain.ChainPolicy.ExtraStore);
            presented.AddRange(chain.ChainElements.Select(e => e.Certificate));
        }

        return presented;
    }

    [LoggerMessage(30, LogLevel.Error, "Refused the scheduler's TLS certificate: {Problem}")]
    private static partial void LogRefused(ILogger logger, string problem);
}
