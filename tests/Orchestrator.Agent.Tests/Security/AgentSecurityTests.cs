using Orchestrator.Agent.Security;

namespace Orchestrator.Agent.Tests.Security;

internal sealed class AgentSecurityTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"agent-security-{Guid.NewGuid():N}");

    [TearDown]
    public void RemoveDirectory()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public void An_http_address_is_the_insecure_mode_without_join_or_certificates()
    {
        var security = AgentSecurity.FromSettings(new AgentOptions { SchedulerAddress = "http://127.0.0.1:7400" }, new NodeCredentialStore(_directory));
        Assert.Multiple(() =>
        {
            Assert.That(security.Enabled, Is.False);
            Assert.That(security.MustJoin, Is.False);
        });
    }

    [Test]
    public void The_default_address_is_TLS()
    {
        Assert.That(new AgentOptions().SchedulerAddress, Does.StartWith("https://"));
    }

    [TestCase("127.0.0.1:7400")]
    [TestCase("ftp://127.0.0.1:7400")]
    [TestCase("not an address")]
    public void A_malformed_address_is_refused(string address)
    {
        Assert.That(() => AgentSecurity.FromSettings(new AgentOptions { SchedulerAddress = address }, new NodeCredentialStore(_directory)),
            Throws.TypeOf<FormatException>().With.Message.Contains("Agent:SchedulerAddress"));
    }

    [Test]
    public void A_malformed_join_token_is_refused_even_for_http()
    {
        Assert.That(() => AgentSecurity.FromSettings(new AgentOptions { SchedulerAddress = "http://127.0.0.1:7400", JoinToken = "SWMTKN-1-x-y" }, new NodeCredentialStore(_directory)),
            Throws.TypeOf<FormatException>());
    }

    [Test]
    public void A_first_start_over_TLS_needs_the_join_token()
    {
        Assert.That(() => AgentSecurity.FromSettings(new AgentOptions(), new NodeCredentialStore(_directory)),
            Throws.TypeOf<FormatException>().With.Message.Contains("Agent:JoinToken (or Agent:JoinTokenFile, which must exist) is needed"));
    }

    [Test]
    public void The_join_token_can_come_from_a_file_and_a_missing_file_is_no_token()
    {
        using var pki = new TestPki();
        Directory.CreateDirectory(_directory);
        var file = Path.Combine(_directory, "join.token");
        var missing = () => AgentSecurity.FromSettings(new AgentOptions { JoinTokenFile = file }, new NodeCredentialStore(Path.Combine(_directory, "state")));
        Assert.That(missing, Throws.TypeOf<FormatException>().With.Message.Contains("Agent:JoinTokenFile"));

        File.WriteAllText(file, pki.JoinToken() + "\n");
        var security = AgentSecurity.FromSettings(new AgentOptions { JoinTokenFile = file }, new NodeCredentialStore(Path.Combine(_directory, "state")));
        Assert.That((security.MustJoin, security.JoinToken!.CaDigest), Is.EqualTo((true, pki.CaDigest)));
    }

    [Test]
    public void A_first_start_with_the_token_joins()
    {
        using var pki = new TestPki();
        var security = AgentSecurity.FromSettings(new AgentOptions { JoinToken = pki.JoinToken() }, new NodeCredentialStore(_directory));
        Assert.Multiple(() =>
        {
            Assert.That(security.Enabled, Is.True);
            Assert.That(security.MustJoin, Is.True);
            Assert.That(security.JoinToken!.CaDigest, Is.EqualTo(pki.CaDigest));
        });
    }

    [Test]
    public void A_stored_certificate_is_used_without_the_token_and_Rejoin_joins_again()
    {
        using var pki = new TestPki();
        var store = Joined(pki, "node-1", "default");
        var options = new AgentOptions { NodeName = "node-1" };

        var again = AgentSecurity.FromSettings(options, store);
        options.Rejoin = true;
        Assert.Multiple(() =>
        {
            Assert.That(again.MustJoin, Is.False);
            Assert.That(again.Stored!.NodeName, Is.EqualTo("node-1"));
            Assert.That(() => AgentSecurity.FromSettings(options, store), Throws.TypeOf<FormatException>().With.Message.Contains("Agent:Rejoin"));
        });

        options.JoinToken = pki.JoinToken();
        Assert.That(AgentSecurity.FromSettings(options, store).MustJoin, Is.True);
    }

    [Test]
    public void A_certificate_for_another_node_name_is_refused()
    {
        using var pki = new TestPki();
        var store = Joined(pki, "node-1", "default");
        Assert.That(() => AgentSecurity.FromSettings(new AgentOptions { NodeName = "node-2" }, store),
            Throws.TypeOf<FormatException>().With.Message.Contains("\"node-1\""));
    }

    private NodeCredentialStore Joined(TestPki pki, string node, string cluster)
    {
        var store = new NodeCredentialStore(_directory);
        using var csr = CertificateSigningRequest.Create(node);
        var now = DateTimeOffset.UtcNow;
        store.Save(csr.Key, pki.IssueNode(csr.Der, node, cluster, now, now.AddDays(1)), pki.CaPem);
        return store;
    }
}
