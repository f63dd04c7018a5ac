using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>
/// An etcd that serves clients on https and requires client certificates (a cluster of its own): the
/// client made from Scheduler:Etcd's CA and client certificate commits; without them it cannot.
/// </summary>
internal sealed class EtcdTlsTests
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private string _directory = "";
    private EtcdCluster? _cluster;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-etcd-tls-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=etcd test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        File.WriteAllText(Path("ca.crt"), ca.ExportCertificatePem());
        Issue(ca, "CN=etcd", [ServerAuth, ClientAuth], "server");
        Issue(ca, "CN=scheduler", [ClientAuth], "client");
        _cluster = await EtcdCluster.StartAsync(1, new EtcdClusterTls(Path("ca.crt"), Path("server.crt"), Path("server.key")));
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _cluster?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string Path(string file) => System.IO.Path.Combine(_directory, file);

    private void Issue(X509Certificate2 ca, string subject, Oid[] usages, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(Path(name + ".crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path(name + ".key"), key.ExportPkcs8PrivateKeyPem());
    }

    [Test]
    public async Task A_client_with_the_ca_and_a_client_certificate_commits_and_loads()
    {
        var options = new EtcdOptions
        {
            Endpoints = _cluster!.Endpoints,
            Prefix = "/test/tls",
            CaCertificate = Path("ca.crt"),
            ClientCertificate = Path("client.crt"),
            ClientKey = Path("client.key"),
        };
        Assert.That(options.Endpoints, Does.StartWith("https://"));
        using var connection = EtcdClientFactory.Create(options);
        using var store = new EtcdStateStore(connection.Client, options);
        var version = await store.CommitAsync(new ChangeSet([StoreTables.Clusters.Put(new ClusterRecord("prod", DateTimeOffset.UnixEpoch))]), 0);
        var state = await store.LoadAsync();
        Assert.That((version, state.Of(StoreTables.Clusters).Single().Name), Is.EqualTo((1L, "prod")));
    }

    [TestCase(false, true)]
    [TestCase(true, false)]
    public void A_client_without_the_ca_or_without_a_client_certificate_cannot_read(bool withCa, bool withClientCertificate)
    {
        var options = new EtcdOptions
        {
            Endpoints = _cluster!.Endpoints,
            Prefix = "/test/tls",
            CaCertificate = withCa ? Path("ca.crt") : "",
            ClientCertificate = withClientCertificate ? Path("client.crt") : "",
            ClientKey = withClientCertificate ? Path("client.key") : "",
        };
        using var connection = EtcdClientFactory.Create(options);
        using var store = new EtcdStateStore(connection.Client, options, requestTimeout: TimeSpan.FromSeconds(3));
        var refused = Assert.ThrowsAsync<StorageException>(() => store.LoadAsync())!;
        Assert.That(refused.Message, Does.Contain("cannot read the state under /test/tls from etcd"));
    }
}
