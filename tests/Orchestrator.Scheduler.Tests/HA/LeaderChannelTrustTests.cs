using System.Net.Security;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Security;

namespace Orchestrator.Scheduler.Tests.HA;

/// <summary>A standby trusts, as the leader, only a certificate of the cluster CA that names the host it dialled.</summary>
internal sealed class LeaderChannelTrustTests
{
    private string _directory = "";

    [SetUp]
    public void MakeDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-leader-tls-").FullName;
        Directory.CreateDirectory(Path.Combine(_directory, "cluster"));
        Directory.CreateDirectory(Path.Combine(_directory, "other"));
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [TestCase(SslPolicyErrors.None, true)]
    [TestCase(SslPolicyErrors.RemoteCertificateChainErrors, true)]
    [TestCase(SslPolicyErrors.RemoteCertificateNameMismatch, false)]
    [TestCase(SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors, false)]
    public void The_cluster_CAs_certificate_is_trusted_when_it_names_the_host(SslPolicyErrors errors, bool trusted)
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = ClusterCa.LoadOrCreate(Path.Combine(_directory, "cluster"), null, null, now);
        using var server = ca.IssueServerCertificate(Path.Combine(_directory, "cluster"), ["sched-2.example"], now);

        Assert.That(LeaderChannel.IsTrusted(server, errors, ca.Certificate), Is.EqualTo(trusted));
    }

    [Test]
    public void Another_CAs_certificate_and_none_are_not_trusted()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = ClusterCa.LoadOrCreate(Path.Combine(_directory, "cluster"), null, null, now);
        using var other = ClusterCa.LoadOrCreate(Path.Combine(_directory, "other"), null, null, now);
        using var impostor = other.IssueServerCertificate(Path.Combine(_directory, "other"), ["sched-2.example"], now);

        Assert.Multiple(() =>
        {
            Assert.That(LeaderChannel.IsTrusted(impostor, SslPolicyErrors.RemoteCertificateChainErrors, ca.Certificate), Is.False);
            Assert.That(LeaderChannel.IsTrusted(null, SslPolicyErrors.RemoteCertificateNotAvailable, ca.Certificate), Is.False);
        });
    }
}
