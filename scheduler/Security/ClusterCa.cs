using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// The cluster's certificate authority, as Swarm has one: made on the first start (or given by the
/// operator), kept in the data directory (the key owner-only), it issues the scheduler's server
/// certificate and every node's client certificate, and is the only root node certificates are
/// checked against. .NET's own X509 types do all of the cryptography.
/// </summary>
internal sealed class ClusterCa : IDisposable
{
    public const string CertificateFile = "ca.crt";
    public const string KeyFile = "ca.key";
    public const string ServerCertificateFile = "server.crt";
    public const string ServerKeyFile = "server.key";

    // The organisation part of a node certificate's subject carries its cluster.
    private const string OrganizationOid = "2.5.4.10";

    private readonly ECDsa _key;

    private ClusterCa(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
    }

    /// <summary>The CA certificate (public): what clients and agents trust.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The SHA-256 digest of the CA certificate, as a join token pins it.</summary>
    public string Digest => Convert.ToHexStringLower(SHA256.HashData(Certificate.RawData));

    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>
    /// Opens the CA of the data directory, or the operator's (both paths given), or makes a new one
    /// there. A CA that cannot be read is an error: a silently new CA would cut every node off.
    /// </summary>
    public static ClusterCa LoadOrCreate(string directory, string? certificatePath, string? keyPath, DateTimeOffset now)
    {
        if (!string.IsNullOrEmpty(certificatePath) || !string.IsNullOrEmpty(keyPath))
        {
            if (string.IsNullOrEmpty(certificatePath) || string.IsNullOrEmpty(keyPath))
            {
                throw new InvalidOperationException("Scheduler:CaCertificate and Scheduler:CaKey go together: give both or neither");
            }

            return Load(certificatePath, keyPath);
        }

        var certificateFile = Path.Combine(directory, CertificateFile);
        var keyFile = Path.Combine(directory, KeyFile);
        if (File.Exists(certificateFile) || File.Exists(keyFile))
        {
            return Load(certificateFile, keyFile);
        }

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Orchestrator cluster CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        using var created = request.CreateSelfSigned(now.AddHours(-1), now.AddYears(10));
        SecretFiles.Write(keyFile, key.ExportPkcs8PrivateKeyPem());
        SecretFiles.WritePublic(certificateFile, created.ExportCertificatePem());
        return new ClusterCa(X509CertificateLoader.LoadCertificate(created.RawData), key);
    }

    private static ClusterCa Load(string certificatePath, string keyPath)
    {
        try
        {
            var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
            var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(keyPath));
            if (!certificate.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
            {
                throw new InvalidOperationException($"the CA key {keyPath} does not belong to the CA certificate {certificatePath}");
            }

            return new ClusterCa(X509CertificateLoader.LoadCertificate(certificate.RawData), key);
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or NullReferenceException)
        {
            throw new InvalidOperationException($"cannot read the cluster CA ({certificatePath}, {keyPath}): {e.Message}", e);
        }
    }

    /// <summary>
    /// A server certificate for the scheduler's names (host names and addresses), made afresh at each
    /// start and written beside the CA for inspection.
    /// </summary>
    public X509Certificate2 IssueServerCertificate(string directory, IEnumerable<string> names, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=orchestrator-scheduler", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(name, out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var issued = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddMinutes(-5), now.AddYears(1), NewSerial());
        using var withKey = issued.CopyWithPrivateKey(key);
        SecretFiles.Write(Path.Combine(directory, ServerKeyFile), key.ExportPkcs8PrivateKeyPem());
        SecretFiles.WritePublic(Path.Combine(directory, ServerCertificateFile), issued.ExportCertificatePem() + Certificate.ExportCertificatePem());
        // Through PKCS#12 so that the key is one the TLS stack can use on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>
    /// Signs a node's certificate signing request (PKCS#10, its signature checked) as a client
    /// certificate naming the node (CN) and its cluster (O). Only the request's public key is taken:
    /// the subject is ours.
    /// </summary>
    /// <exception cref="CryptographicException">The request is not a valid, self-signed PKCS#10 request.</exception>
    public (X509Certificate2 Certificate, string Serial) SignNode(byte[] csr, string cluster, string node, TimeSpan lifetime, DateTimeOffset now)
    {
        var asked = CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(node);
        subject.AddOrganizationName(cluster);
        var request = new CertificateRequest(subject.Build(), asked.PublicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var certificate = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddMinutes(-5), now + lifetime, NewSerial());
        // As the certificate carries it (and Verify reads it back): the one form to compare.
        return (certificate, certificate.SerialNumber);
    }

    /// <summary>
    /// The cluster and node a client certificate names, when this CA issued it and it is valid at
    /// <paramref name="now"/>; otherwise the reason it is not.
    /// </summary>
    public (string Cluster, string Node, string Serial)? Verify(X509Certificate2 certificate, DateTimeOffset now, out string problem)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (!chain.Build(certificate))
        {
            var status = chain.ChainStatus.Select(s => s.Status).ToList();
            problem = status.Contains(X509ChainStatusFlags.NotTimeValid)
                ? $"the certificate is not valid at this time (valid {certificate.NotBefore:u} to {certificate.NotAfter:u}); join again with a join token"
                : "the certificate was not issued by this cluster's CA";
            return null;
        }

        var node = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        var cluster = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .FirstOrDefault(n => n.GetSingleElementType().Value == OrganizationOid)?.GetSingleElementValue();
        if (string.IsNullOrEmpty(node) || string.IsNullOrEmpty(cluster))
        {
            problem = "the certificate names no node and cluster";
            return null;
        }

        problem = "";
        return (cluster, node, certificate.SerialNumber);
    }

    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }

    private static byte[] NewSerial()
    {
        // A positive integer, as X.509 wants, whose first byte is not zero: DER drops leading zero bytes,
        // and the serial must read back exactly as it was made.
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }
}
