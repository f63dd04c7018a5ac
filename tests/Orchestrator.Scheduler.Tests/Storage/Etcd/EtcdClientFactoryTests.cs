using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>Scheduler:Etcd settings that cannot make a client are refused naming the setting.</summary>
internal sealed class EtcdClientFactoryTests
{
    [TestCase("", "Scheduler:Etcd:Endpoints is empty")]
    [TestCase("127.0.0.1:2379", "\"127.0.0.1:2379\" is not an etcd client URL")]
    [TestCase("http://127.0.0.1", "\"http://127.0.0.1\" is not an etcd client URL")]
    [TestCase("grpc://127.0.0.1:2379", "\"grpc://127.0.0.1:2379\" is not an etcd client URL")]
    [TestCase("http://127.0.0.1:2379/v3", "\"http://127.0.0.1:2379/v3\" is not an etcd client URL")]
    [TestCase("http://127.0.0.1:2379,https://127.0.0.2:2379", "mixes http:// and https://")]
    public void Bad_endpoints_are_refused_naming_the_setting(string endpoints, string message)
    {
        var refused = Assert.Throws<ArgumentException>(() => EtcdClientFactory.Create(new EtcdOptions { Endpoints = endpoints }))!;
        Assert.That(refused.Message, Does.Contain("Scheduler:Etcd:Endpoints").And.Contain(message));
    }

    [Test]
    public void Comma_separated_endpoints_with_spaces_are_each_a_member()
    {
        var endpoints = EtcdClientFactory.ParseEndpoints(" http://127.0.0.1:2379, http://127.0.0.2:22379 ,http://localhost:2379");
        Assert.That(endpoints.Select(e => $"{e.Host}:{e.Port}"), Is.EqualTo(new[] { "127.0.0.1:2379", "127.0.0.2:22379", "localhost:2379" }));
    }

    [TestCase("http://127.0.0.1:2379", "ca.pem", "", "", "are for https endpoints")]
    [TestCase("https://127.0.0.1:2379", "", "client.pem", "", "go together: set both or neither")]
    [TestCase("https://127.0.0.1:2379", "", "", "client.key", "go together: set both or neither")]
    [TestCase("https://127.0.0.1:2379", "/no/such/ca.pem", "", "", "Scheduler:Etcd:CaCertificate: cannot read a PEM certificate from /no/such/ca.pem")]
    public void Bad_tls_settings_are_refused_naming_them(string endpoints, string ca, string certificate, string key, string message)
    {
        var options = new EtcdOptions { Endpoints = endpoints, CaCertificate = ca, ClientCertificate = certificate, ClientKey = key };
        var refused = Assert.Throws<ArgumentException>(() => EtcdClientFactory.Create(options))!;
        Assert.That(refused.Message, Does.Contain(message));
    }

    [TestCase("")]
    [TestCase("orchestrator")]
    [TestCase("/orchestrator/")]
    public void A_prefix_not_starting_with_a_slash_or_ending_with_one_is_refused(string prefix)
    {
        var refused = Assert.Throws<ArgumentException>(() => new EtcdKeys(prefix))!;
        Assert.That(refused.Message, Does.Contain("Scheduler:Etcd:Prefix"));
    }
}
