using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Orchestrator.Agent.Security;

/// <summary>A new ECDSA P-256 key and a PKCS#10 request for it, naming the node (CN), for Join and RenewCertificate.</summary>
internal sealed class CertificateSigningRequest : IDisposable
{
    private CertificateSigningRequest(ECDsa key, byte[] der)
    {
        Key = key;
        Der = der;
    }

    /// <summary>The new private key; it never leaves the node.</summary>
    public ECDsa Key { get; }

    /// <summary>The request, DER-encoded, as JoinRequest.csr and RenewCertificateRequest.csr carry it.</summary>
    public byte[] Der { get; }

    public static CertificateSigningRequest Create(string nodeName)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var subject = new X500DistinguishedNameBuilder();
            subject.AddCommonName(nodeName);

            // The scheduler uses only the key: it names the node and cluster in the certificate itself.
            var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
            return new CertificateSigningRequest(key, request.CreateSigningRequest());
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public void Dispose() => Key.Dispose();
}
