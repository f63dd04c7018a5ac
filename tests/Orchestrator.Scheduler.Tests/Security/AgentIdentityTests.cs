using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Security;

/// <summary>
/// Node identity from certificates, in process with the scheduler's default (not Scheduler:Insecure):
/// joining needs the join token, a node is the one its certificate names, and a deregistered node's
/// certificate no longer connects. The clock is the fake one, so expiry is tested without waiting.
/// </summary>
internal sealed class AgentIdentityTests
{
    private string _directory = "";
    private SchedulerHost _host = null!;
    private readonly List<JoiningNode> _nodes = [];

    [SetUp]
    public void Start()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-identity-").FullName;
        // Certificates of an hour, so that renewal and expiry need only an hour of fake time, not weeks of timer ticks.
        _host = new SchedulerHost(Path.Combine(_directory, "scheduler.db"), certificates: true, logLevel: "Information",
            settings: new Dictionary<string, string> { ["Scheduler:NodeCertificateLifetime"] = "01:00:00" });
        _ = _host.Server;
    }

    [TearDown]
    public void Stop()
    {
        _nodes.ForEach(n => n.Dispose());
        _host.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string JoinToken => File.ReadAllText(Path.Combine(_directory, "join.token")).Trim();

    private JoiningNode Node(string name)
    {
        var node = new JoiningNode(_host, name);
        _nodes.Add(node);
        return node;
    }

    private static RpcException Refused(Func<Task> call) => Assert.ThrowsAsync<RpcException>(async () => await call())!;

    private async Task<Contracts.V1.Node?> DescribeAsync(string name) =>
        (await _host.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { name } })).Nodes.SingleOrDefault();

    [Test]
    public async Task Joining_requires_the_join_token_and_gives_a_certificate_naming_the_node_and_cluster()
    {
        var node = Node("n1");
        var none = Refused(() => node.JoinAsync(""));
        var wrong = Refused(() => node.JoinAsync(JoinToken[..^4] + "AAAA"));
        var otherCa = Refused(() => node.JoinAsync("ORCH-1-" + new string('0', 64) + "-" + JoinToken.Split('-')[^1]));
        var answer = await node.JoinAsync(JoinToken);
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_directory, "ca.crt")));
        var certificate = node.Certificate!;
        Assert.Multiple(() =>
        {
            Assert.That((none.StatusCode, none.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "joinToken: is not a join token: expected ORCH-1-<CA digest>-<secret>")));
            Assert.That((wrong.StatusCode, wrong.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "joinToken: is not valid (wrong, or rotated since)")));
            Assert.That((otherCa.StatusCode, otherCa.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "joinToken: is for another cluster: its CA digest is not this scheduler's")));
            Assert.That(JoinToken, Does.StartWith("ORCH-1-" + Convert.ToHexStringLower(SHA256.HashData(ca.RawData)) + "-"), "the token pins the CA");
            Assert.That(certificate.Subject, Is.EqualTo("CN=n1, O=default"));
            Assert.That(certificate.Issuer, Is.EqualTo(ca.Subject));
            Assert.That(answer.CaCertificatePem.Trim(), Is.EqualTo(ca.ExportCertificatePem().Trim()));
            Assert.That(answer.ExpiresAt.ToDateTimeOffset(), Is.EqualTo(_host.Clock.GetUtcNow().AddHours(1)).Within(TimeSpan.FromSeconds(1)), "as Scheduler:NodeCertificateLifetime says");
        });
    }

    [Test]
    public async Task A_joined_node_connects_and_runs_as_the_node_its_certificate_names()
    {
        var node = Node("n1");
        await node.JoinAsync(JoinToken);
        await using var agent = await node.ConnectAsync();
        await _host.TaskDefinitions.RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
        var task = (await _host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single();
        var start = await agent.NextCommandAsync();
        Assert.Multiple(async () =>
        {
            Assert.That((await DescribeAsync("n1"))!.AgentConnected, Is.True);
            Assert.That((task.Node, start.StartTask.TaskId), Is.EqualTo(("n1", task.TaskId)));
        });
    }

    [Test]
    public async Task Without_a_certificate_or_with_one_of_another_CA_an_agent_cannot_register()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=n1, O=default", key, HashAlgorithmName.SHA256);
        using var foreign = request.CreateSelfSigned(_host.Clock.GetUtcNow().AddDays(-1), _host.Clock.GetUtcNow().AddDays(30));
        var bare = Refused(() => SimulatedAgent.ConnectAsync(new AgentService.AgentServiceClient(_host.ChannelWith(null)), "n1"));
        var other = Refused(() => SimulatedAgent.ConnectAsync(new AgentService.AgentServiceClient(_host.ChannelWith(null, foreign)), "n1"));
        Assert.Multiple(async () =>
        {
            Assert.That((bare.StatusCode, bare.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "certificate: a client certificate is required: the agent must join the cluster with a join token first")));
            Assert.That((other.StatusCode, other.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "certificate: the certificate was not issued by this cluster's CA")));
            Assert.That(await DescribeAsync("n1"), Is.Null, "no node was registered");
        });
    }

    [Test]
    public async Task A_node_cannot_register_or_report_as_another_node()
    {
        var victim = Node("victim");
        await victim.JoinAsync(JoinToken);
        await using var real = await victim.ConnectAsync();
        await _host.TaskDefinitions.RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
        var task = (await _host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single();
        await real.NextCommandAsync();
        var attacker = Node("attacker");
        await attacker.JoinAsync(JoinToken);

        var posing = Refused(() => attacker.ConnectAsync(asNode: "victim"));
        Assert.Multiple(async () =>
        {
            Assert.That(posing.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(posing.Status.Detail, Is.EqualTo("register.nodeName: this agent's certificate is for node \"attacker\" of cluster \"default\", not \"victim\" of \"default\""));
            Assert.That((await DescribeAsync("victim"))!.AgentConnected, Is.True, "the real agent keeps its stream");
            Assert.That((await _host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { task.TaskId } })).Tasks.Single().Node, Is.EqualTo("victim"));
            Assert.That(await DescribeAsync("attacker"), Is.Null, "posing registered nothing");
        });
    }

    [Test]
    public async Task A_second_session_for_a_connected_node_does_not_receive_its_tasks()
    {
        var node = Node("n1");
        await node.JoinAsync(JoinToken);
        var first = node.Certificate!;
        await node.RenewAsync();
        await using var current = await node.ConnectAsync();
        await _host.TaskDefinitions.RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
        await _host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        await current.NextCommandAsync();

        var older = Refused(() => node.ConnectAsync(first));
        var joinAgain = Refused(() => Node("n1").JoinAsync(JoinToken));
        Assert.Multiple(() =>
        {
            Assert.That((older.StatusCode, older.Status.Detail), Is.EqualTo((StatusCode.AlreadyExists,
                "register.nodeName: node \"n1\"'s agent is connected with another certificate; this stream is refused while it is")));
            Assert.That(joinAgain.StatusCode, Is.EqualTo(StatusCode.AlreadyExists), "a name that is taken cannot be joined again");
            Assert.That(current.Drain().Where(m => m.BodyCase is SchedulerMessage.BodyOneofCase.StartTask), Is.Empty, "nothing went astray");
        });
    }

    [Test]
    public async Task Renewal_needs_no_token_and_keeps_the_last_two_certificates_good()
    {
        var node = Node("n1");
        await node.JoinAsync(JoinToken);
        var first = node.Certificate!;
        _host.Clock.Advance(TimeSpan.FromMinutes(41));
        var renewed = await node.RenewAsync();
        var second = node.Certificate!;
        await node.RenewAsync();

        await (await node.ConnectAsync(second)).DisposeAsync();
        await (await node.ConnectAsync()).DisposeAsync();
        var oldest = Refused(() => node.ConnectAsync(first));
        Assert.Multiple(() =>
        {
            Assert.That(renewed.ExpiresAt.ToDateTimeOffset(), Is.EqualTo(_host.Clock.GetUtcNow().AddHours(1)).Within(TimeSpan.FromSeconds(1)), "a full lifetime from the renewal");
            Assert.That(second.Subject, Is.EqualTo("CN=n1, O=default"));
            Assert.That((oldest.StatusCode, oldest.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "certificate: this certificate of node \"n1\" was replaced when the node joined again")));
        });
    }

    [Test]
    public async Task An_expired_certificate_is_refused_and_cannot_renew()
    {
        var node = Node("n1");
        await node.JoinAsync(JoinToken);
        _host.Clock.Advance(TimeSpan.FromMinutes(61));
        var connect = Refused(() => node.ConnectAsync());
        var renew = Refused(() => node.RenewAsync());
        Assert.Multiple(() =>
        {
            Assert.That(connect.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
            Assert.That(connect.Status.Detail, Does.StartWith("certificate: the certificate is not valid at this time"));
            Assert.That(renew.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        });
    }

    [Test]
    public async Task After_rotation_the_old_token_no_longer_joins_the_new_one_does_and_joined_nodes_keep_working()
    {
        var joined = Node("n1");
        await joined.JoinAsync(JoinToken);
        var old = JoinToken;
        var rotated = await new TokenService.TokenServiceClient(_host.Channel).RotateJoinTokenAsync(new RotateJoinTokenRequest());
        var refused = Refused(() => Node("n2").JoinAsync(old));
        await Node("n3").JoinAsync(rotated.JoinToken);
        await using var agent = await joined.ConnectAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(rotated.JoinToken, Is.Not.EqualTo(old).And.EqualTo(JoinToken), "join.token holds the new one");
            Assert.That(rotated.JoinToken[..71], Is.EqualTo(old[..71]), "the same CA digest");
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "joinToken: is not valid (wrong, or rotated since)")));
            Assert.That((await DescribeAsync("n1"))!.AgentConnected, Is.True);
        });
    }

    [Test]
    public async Task A_deregistered_node_cannot_reconnect_until_it_joins_again_with_the_token()
    {
        var node = Node("n1");
        await node.JoinAsync(JoinToken);
        var agent = await node.ConnectAsync();
        await _host.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest { Name = "n1", Force = true });
        await agent.WaitForEndAsync();
        await agent.DisposeAsync();

        using var call = node.Agents().Connect();
        await call.RequestStream.WriteAsync(new AgentMessage { Register = new RegisterNode { NodeName = "n1", Resources = new Resources { Cpu = 1024, Memory = 1024 }, Rejoin = true } });
        Assert.That(await call.ResponseStream.MoveNext(), Is.True);
        var answer = call.ResponseStream.Current;
        var renew = Refused(() => node.RenewAsync());
        var whileRemoved = await DescribeAsync("n1");

        await node.JoinAsync(JoinToken);
        await using var back = await node.ConnectAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(answer.BodyCase, Is.EqualTo(SchedulerMessage.BodyOneofCase.Deregistered), "a revoked certificate is answered Deregistered, rejoin flag or not");
            Assert.That(answer.Deregistered.Reason, Does.Contain("join again with a join token"));
            Assert.That(renew.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
            Assert.That((whileRemoved!.Status, whileRemoved.AgentConnected), Is.EqualTo((NodeStatus.Inactive, false)));
            Assert.That((await DescribeAsync("n1"))!.Status, Is.EqualTo(NodeStatus.Active), "joining again with the token takes it back");
        });
    }

    [TestCase(new byte[0], "csr: a PKCS#10 certificate signing request (DER) is required")]
    [TestCase(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x00 }, "csr: is not a valid PKCS#10 certificate signing request")]
    public void A_bad_signing_request_is_refused_naming_the_field(byte[] csr, string detail)
    {
        var refused = Refused(() => new AgentService.AgentServiceClient(_host.ChannelWith(null)).JoinAsync(new JoinRequest
        {
            JoinToken = JoinToken, NodeName = "n1", Csr = ByteString.CopyFrom(csr),
        }).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(refused.Status.Detail, Does.StartWith(detail));
        });
    }

    [Test]
    public async Task No_secret_reaches_the_log()
    {
        var node = Node("n1");
        await node.JoinAsync(JoinToken);
        await using var agent = await node.ConnectAsync();
        await node.RenewAsync();
        var created = await new TokenService.TokenServiceClient(_host.Channel).CreateTokenAsync(new CreateTokenRequest { Name = "ci", Role = "operator" });
        var rotated = await new TokenService.TokenServiceClient(_host.Channel).RotateJoinTokenAsync(new RotateJoinTokenRequest());
        var definition = SchedulerTest.WebDefinitionFor("db");
        definition.ContainerDefinitions[0].Environment.Add(new EnvironmentVariable { Name = "DB_PASSWORD", Value = "hunter2-do-not-log" });
        await _host.TaskDefinitions.RegisterTaskDefinitionAsync(definition);
        await _host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "db" });
        Refused(() => new TaskService.TaskServiceClient(_host.ChannelWith(created.Secret + "x")).ListTasksAsync(new ListTasksRequest()).ResponseAsync);
        Refused(() => Node("n2").JoinAsync(rotated.JoinToken + "x"));

        var logs = _host.Logs.All;
        var caKey = File.ReadAllText(Path.Combine(_directory, "ca.key"));
        var keyBody = string.Concat(caKey.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)));
        Assert.Multiple(() =>
        {
            Assert.That(logs, Does.Contain("joined").And.Contain("admin.token"), "the log says what happened and where the token is");
            Assert.That(logs, Does.Not.Contain(_host.AdminToken));
            Assert.That(logs, Does.Not.Contain(created.Secret));
            // ORCH-1-<CA digest>-<secret>: the secret is all after the third dash (it may hold dashes itself).
            Assert.That(logs, Does.Not.Contain(string.Join('-', rotated.JoinToken.Split('-').Skip(3))));
            Assert.That(logs, Does.Not.Contain(keyBody[..40]));
            Assert.That(logs, Does.Not.Contain("hunter2-do-not-log"));
        });
    }
}
