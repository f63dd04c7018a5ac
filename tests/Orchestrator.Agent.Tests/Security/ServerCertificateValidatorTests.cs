using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Agent.Security;

namespace Orchestrator.Agent.Tests.Security;

/// <summary>
/// The validation callback as SslStream calls it: the leaf, a chain whose extra store holds the other
/// certificates the server sent, and the platform's verdict (the chain is untrusted: the CA is in no system store).
/// </summary>
internal sealed class ServerCertificateValidatorTests
{
    private const SslPolicyErrors Untrusted = SslPolicyErrors.RemoteCertificateChainErrors;

    [Test]
    public void A_chain_from_the_trusted_CA_is_accepted()
    {
        using var pki = new TestPki();
        using var server = pki.IssueServer();
        var validator = ServerCertificateValidator.Trusting(() => PublicOnly(pki.Ca), "the cluster CA", NullLogger.Instance);
        Assert.That(Validate(validator, server, [PublicOnly(pki.Ca)]), Is.True);
    }

    [Test]
    public void A_chain_from_another_CA_is_refused()
    {
        using var pki = new TestPki();
        using var other = new TestPki("another CA");
        using var server = other.IssueServer();
        var validator = ServerCertificateValidator.Trusting(() => PublicOnly(pki.Ca), "the cluster CA", NullLogger.Instance);
        Assert.That(Validate(validator, server, [PublicOnly(other.Ca)]), Is.False);
    }

    [Test]
    public void The_right_CA_sent_beside_a_certificate_another_CA_issued_is_refused()
    {
        // A man in the middle can copy the cluster CA's certificate (it is public), not its key.
        using var pki = new TestPki();
        using var other = new TestPki("another CA");
        using var server = other.IssueServer();
        var validator = ServerCertificateValidator.Trusting(() => PublicOnly(pki.Ca), "the cluster CA", NullLogger.Instance);
        Assert.That(Validate(validator, server, [PublicOnly(pki.Ca), PublicOnly(other.Ca)]), Is.False);
    }

    [Test]
    public void A_certificate_for_another_host_is_refused_even_from_the_right_CA()
    {
        using var pki = new TestPki();
        using var server = pki.IssueServer();
        var validator = ServerCertificateValidator.Trusting(() => PublicOnly(pki.Ca), "the cluster CA", NullLogger.Instance);
        Assert.That(Validate(validator, server, [PublicOnly(pki.Ca)], Untrusted | SslPolicyErrors.RemoteCertificateNameMismatch), Is.False);
    }

    [Test]
    public void No_certificate_is_refused()
    {
        using var pki = new TestPki();
        var validator = ServerCertificateValidator.Trusting(() => PublicOnly(pki.Ca), "the cluster CA", NullLogger.Instance);
        Assert.That(validator.Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable), Is.False);
    }

    [Test]
    public void After_joining_the_saved_CA_is_trusted_without_the_server_sending_it()
    {
        using var pki = new TestPki();
        using var other = new TestPki("another CA");
        using var server = pki.IssueServer();
        using var impostor = other.IssueServer();
        var ca = PublicOnly(pki.Ca);
        var validator = ServerCertificateValidator.Trusting(() => ca, "the cluster CA", NullLogger.Instance);
        Assert.Multiple(() =>
        {
            Assert.That(Validate(validator, server, []), Is.True);
            Assert.That(Validate(validator, impostor, [PublicOnly(other.Ca)]), Is.False);
        });
    }

    [Test]
    public void Trusting_nothing_yet_refuses_every_server()
    {
        using var pki = new TestPki();
        using var server = pki.IssueServer();
        var validator = ServerCertificateValidator.Trusting(() => null, "the cluster CA", NullLogger.Instance);
        Assert.That(Validate(validator, server, [PublicOnly(pki.Ca)]), Is.False);
    }

    [TestCase(false, TestName = "A_forged_certificate_naming_the_self_signed_CA_as_issuer_is_refused")]
    [TestCase(true, TestName = "A_forged_certificate_naming_the_CA_with_an_issuer_as_issuer_is_refused")]
    public void A_certificate_that_names_the_CA_but_is_signed_by_another_key_is_refused(bool issuedByThrowawayRoot)
    {
        using var pki = new TestPki(issuedByThrowawayRoot: issuedByThrowawayRoot);
        using var forged = Forge(pki);
        var validator = ServerCertificateValidator.Trusting(() => PublicOnly(pki.Ca), "the cluster CA", NullLogger.Instance);
        Assert.That(Validate(validator, forged, [PublicOnly(pki.Ca)]), Is.False);
    }

    [Test]
    public void A_CA_with_an_issuer_of_its_own_is_trusted_as_an_anchor_as_well()
    {
        using var pki = new TestPki(issuedByThrowawayRoot: true);
        using var other = new TestPki("another CA", issuedByThrowawayRoot: true);
        using var server = pki.IssueServer();
        using var impostor = other.IssueServer();
        var validator = ServerCertificateValidator.Trusting(() => PublicOnly(pki.Ca), "the cluster CA", NullLogger.Instance);
        Assert.Multiple(() =>
        {
            Assert.That(Validate(validator, server, [PublicOnly(pki.Ca)]), Is.True);
            Assert.That(Validate(validator, impostor, [PublicOnly(other.Ca), PublicOnly(pki.Ca)]), Is.False);
        });
    }

    /// <summary>A server certificate whose issuer is the CA's name, signed by a key that is not the CA's.</summary>
    private static X509Certificate2 Forge(TestPki pki)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=scheduler", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        return request.Create(pki.Ca.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now.AddMinutes(-5), now.AddDays(1), [1, 2, 3]);
    }

    private static bool Validate(ServerCertificateValidator validator, X509Certificate2 server, X509Certificate2[] sent, SslPolicyErrors errors = Untrusted)
    {
        using var leaf = PublicOnly(server);
        using var chain = new X509Chain();
        chain.ChainPolicy.ExtraStore.AddRange(sent);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        _ = chain.Build(leaf);
        return validator.Validate(new object(), leaf, chain, errors);
    }

    private static X509Certificate2 PublicOnly(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);
}
