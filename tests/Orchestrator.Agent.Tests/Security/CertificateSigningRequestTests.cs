using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Agent.Security;

namespace Orchestrator.Agent.Tests.Security;

internal sealed class CertificateSigningRequestTests
{
    [Test]
    public void The_request_names_the_node_carries_a_new_P256_key_and_is_signed_by_it()
    {
        using var csr = CertificateSigningRequest.Create("node-1");

        // LoadSigningRequest checks the request's signature by default.
        var loaded = CertificateRequest.LoadSigningRequest(csr.Der, HashAlgorithmName.SHA256);
        using var publicKey = loaded.PublicKey.GetECDsaPublicKey()!;
        Assert.Multiple(() =>
        {
            Assert.That(loaded.SubjectName.Name, Is.EqualTo("CN=node-1"));
            Assert.That(publicKey.ExportParameters(false).Curve.Oid.Value, Is.EqualTo("1.2.840.10045.3.1.7"), "nistP256");
            Assert.That(publicKey.ExportSubjectPublicKeyInfo(), Is.EqualTo(csr.Key.ExportSubjectPublicKeyInfo()));
        });
    }

    [Test]
    public void Every_request_has_a_key_of_its_own()
    {
        using var first = CertificateSigningRequest.Create("node-1");
        using var second = CertificateSigningRequest.Create("node-1");
        Assert.That(second.Key.ExportSubjectPublicKeyInfo(), Is.Not.EqualTo(first.Key.ExportSubjectPublicKeyInfo()));
    }

    [Test]
    public void A_name_with_separators_stays_one_common_name()
    {
        using var csr = CertificateSigningRequest.Create("node,O=evil");
        var loaded = CertificateRequest.LoadSigningRequest(csr.Der, HashAlgorithmName.SHA256);
        var names = loaded.SubjectName.EnumerateRelativeDistinguishedNames().ToList();
        Assert.That(names.Select(n => n.GetSingleElementValue()), Is.EqualTo(new[] { "node,O=evil" }));
    }
}
