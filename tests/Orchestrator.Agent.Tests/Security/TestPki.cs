using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Orchestrator.Agent.Tests.Security;

/// <summary>A self-made cluster CA, as the scheduler's: ECDSA P-256, issuing server and node certificates.</summary>
internal sealed class TestPki : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <param name="name">The CA's common name.</param>
    /// <param name="issuedByThrowawayRoot">
    /// Whether the CA is issued by a root whose key is thrown away at once, rather than self-signed. A
    /// .NET TLS server never sends a self-signed root in its chain (SslStreamCertificateContext trims
    /// it); it does send a CA whose issuer it does not have.
    /// </param>
    public TestPki(string name = "test cluster CA", bool issuedByThrowawayRoot = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = CaRequest(name, key);
        var now = DateTimeOffset.UtcNow;
        if (!issuedByThrowawayRoot)
        {
            Ca = request.CreateSelfSigned(now.AddYears(-1), now.AddYears(10));
            return;
        }

        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var root = CaRequest($"{name} root", rootKey).CreateSelfSigned(now.AddYears(-2), now.AddYears(20));
        using var ca = request.Create(root, now.AddYears(-1), now.AddYears(10), RandomSerial());
        Ca = ca.CopyWithPrivateKey(key);
    }

    /// <summary>The CA certificate, with its key.</summary>
    public X509Certificate2 Ca { get; }

    public string CaPem => Ca.ExportCertificatePem();

    public byte[] CaDigest => SHA256.HashData(Ca.RawData);

    public string JoinToken(string secret = "s3cr3tvalue") => $"ORCH-1-{Convert.ToHexStringLower(CaDigest)}-{secret}";

    /// <summary>A server certificate for 127.0.0.1 and localhost, with its key.</summary>
    public X509Certificate2 IssueServer(string host = "127.0.0.1")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=scheduler", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(host, out var ip))
        {
            names.AddIpAddress(ip);
        }
        else
        {
            names.AddDnsName(host);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth], false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(Ca, now.AddMinutes(-5), now.AddDays(30), RandomSerial());
        using var withKey = certificate.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Signs a node's CSR as the scheduler does: CN = node, O = cluster; only the request's key is used.</summary>
    public string IssueNode(byte[] csr, string node, string cluster, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var requested = CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(cluster);
        subject.AddCommonName(node);
        var request = new CertificateRequest(subject.Build(), requested.PublicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuth], false));
        using var certificate = request.Create(Ca, notBefore, notAfter, RandomSerial());
        return certificate.ExportCertificatePem();
    }

    public void Dispose() => Ca.Dispose();

    private static CertificateRequest CaRequest(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }

    private static byte[] RandomSerial() => RandomNumberGenerator.GetBytes(16);
}
