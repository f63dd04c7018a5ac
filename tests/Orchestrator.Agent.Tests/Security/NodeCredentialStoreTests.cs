using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Agent.Security;

namespace Orchestrator.Agent.Tests.Security;

internal sealed class NodeCredentialStoreTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"agent-store-{Guid.NewGuid():N}", "state");

    [TearDown]
    public void RemoveDirectory()
    {
        var parent = Path.GetDirectoryName(_directory)!;
        if (Directory.Exists(parent))
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Test]
    public void An_empty_state_directory_has_no_credentials()
    {
        Assert.That(new NodeCredentialStore(_directory).Load(), Is.Null);
    }

    [Test]
    public void Saved_credentials_load_again_with_their_key()
    {
        using var pki = new TestPki();
        using var csr = CertificateSigningRequest.Create("node-1");
        var now = DateTimeOffset.UtcNow;
        var certificatePem = pki.IssueNode(csr.Der, "node-1", "prod", now.AddMinutes(-1), now.AddDays(30));
        var store = new NodeCredentialStore(_directory);

        var saved = store.Save(csr.Key, certificatePem, pki.CaPem);
        var loaded = new NodeCredentialStore(_directory).Load()!;

        Assert.Multiple(() =>
        {
            Assert.That(loaded.Certificate.Thumbprint, Is.EqualTo(saved.Certificate.Thumbprint));
            Assert.That(loaded.Certificate.HasPrivateKey, Is.True);
            Assert.That(loaded.Ca.RawData, Is.EqualTo(pki.Ca.RawData));
            Assert.That(loaded.NodeName, Is.EqualTo("node-1"));
            Assert.That(loaded.Cluster, Is.EqualTo("prod"));
            Assert.That(loaded.NotAfter, Is.EqualTo(now.AddDays(30)).Within(TimeSpan.FromSeconds(1)));
            using var key = loaded.Certificate.GetECDsaPrivateKey()!;
            Assert.That(key.ExportSubjectPublicKeyInfo(), Is.EqualTo(csr.Key.ExportSubjectPublicKeyInfo()));
        });
    }

    [Test]
    [UnsupportedOSPlatform("windows")]
    public void The_key_is_PKCS8_and_readable_by_its_owner_only_and_no_temporary_file_stays()
    {
        using var pki = new TestPki();
        using var csr = CertificateSigningRequest.Create("node-1");
        var now = DateTimeOffset.UtcNow;
        new NodeCredentialStore(_directory).Save(csr.Key, pki.IssueNode(csr.Der, "node-1", "default", now, now.AddDays(1)), pki.CaPem);

        var keyPath = Path.Combine(_directory, "node.key");
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(keyPath), Does.StartWith("-----BEGIN PRIVATE KEY-----"));
            Assert.That(File.GetUnixFileMode(keyPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(File.GetUnixFileMode(_directory) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead), Is.EqualTo(UnixFileMode.None));
            Assert.That(Directory.GetFiles(_directory).Select(Path.GetFileName), Is.EquivalentTo(new[] { "node.key", "node.crt", "ca.crt" }));
        });
    }

    [Test]
    public void A_second_save_replaces_the_first()
    {
        using var pki = new TestPki();
        var store = new NodeCredentialStore(_directory);
        var now = DateTimeOffset.UtcNow;
        using var first = CertificateSigningRequest.Create("node-1");
        store.Save(first.Key, pki.IssueNode(first.Der, "node-1", "default", now, now.AddDays(1)), pki.CaPem);
        using var second = CertificateSigningRequest.Create("node-1");
        var renewed = store.Save(second.Key, pki.IssueNode(second.Der, "node-1", "default", now, now.AddDays(2)), pki.CaPem);

        Assert.That(store.Load()!.Certificate.Thumbprint, Is.EqualTo(renewed.Certificate.Thumbprint));
    }

    [Test]
    public void A_certificate_for_another_key_is_refused_and_writes_nothing()
    {
        using var pki = new TestPki();
        using var csr = CertificateSigningRequest.Create("node-1");
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        var store = new NodeCredentialStore(_directory);

        Assert.Multiple(() =>
        {
            Assert.That(() => store.Save(otherKey, pki.IssueNode(csr.Der, "node-1", "default", now, now.AddDays(1)), pki.CaPem), Throws.TypeOf<CredentialStoreException>());
            Assert.That(Directory.Exists(_directory), Is.False);
        });
    }

    [Test]
    public void Damaged_files_are_a_clear_error()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "node.crt"), "not a certificate");
        File.WriteAllText(Path.Combine(_directory, "node.key"), "not a key");
        File.WriteAllText(Path.Combine(_directory, "ca.crt"), "not a certificate");
        Assert.That(() => new NodeCredentialStore(_directory).Load(), Throws.TypeOf<CredentialStoreException>().With.Message.Contains(_directory));
    }
}
