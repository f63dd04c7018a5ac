using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Scheduler.Security;

namespace Orchestrator.Scheduler.Tests.Security;

/// <summary>The cluster CA on its own: what it issues reads back as what it recorded.</summary>
internal sealed class ClusterCaTests
{
    private string _directory = "";

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-ca-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Every_node_certificate_verifies_with_the_serial_it_was_recorded_with()
    {
        // Once in 128 a random serial starts with a zero byte, which DER drops: 500 certificates find it.
        var now = DateTimeOffset.UtcNow;
        using var ca = ClusterCa.LoadOrCreate(_directory, null, null, now);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        var mismatches = new List<string>();
        for (var i = 0; i < 500; i++)
        {
            var (certificate, serial) = ca.SignNode(csr, "default", $"n{i}", TimeSpan.FromHours(1), now);
            using (certificate)
            {
                var verified = ca.Verify(certificate, now, out var problem);
                if (verified?.Serial != serial || verified?.Node != $"n{i}" || verified?.Cluster != "default")
                {
                    mismatches.Add($"n{i}: recorded {serial}, read {verified?.Serial} ({problem})");
                }
            }
        }

        Assert.That(mismatches, Is.Empty);
    }

    [Test]
    public void The_CA_is_made_once_and_read_back_at_the_next_start_with_its_key_owner_only()
    {
        var now = DateTimeOffset.UtcNow;
        string digest;
        using (var first = ClusterCa.LoadOrCreate(_directory, null, null, now))
        {
            digest = first.Digest;
        }

        using var again = ClusterCa.LoadOrCreate(_directory, null, null, now);
        Assert.Multiple(() =>
        {
            Assert.That(again.Digest, Is.EqualTo(digest));
            Assert.That(again.Certificate.SubjectName.RawData, Is.EqualTo(again.Certificate.IssuerName.RawData), "self-signed: any TLS client can trust ca.crt");
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(Path.Combine(_directory, ClusterCa.KeyFile)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }
        });
    }

    [Test]
    public void A_damaged_key_file_stops_the_start_rather_than_making_a_new_CA()
    {
        using (ClusterCa.LoadOrCreate(_directory, null, null, DateTimeOffset.UtcNow))
        {
        }

        File.WriteAllText(Path.Combine(_directory, ClusterCa.KeyFile), "not a key");
        Assert.That(() => ClusterCa.LoadOrCreate(_directory, null, null, DateTimeOffset.UtcNow),
            Throws.TypeOf<InvalidOperationException>().With.Message.StartsWith("cannot read the cluster CA"));
    }
}
