using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Security;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Security;

/// <summary>Join, mutual TLS and a renewed certificate against a real TLS server on 127.0.0.1.</summary>
internal sealed class TlsJoinTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"agent-tls-{Guid.NewGuid():N}");

    [TearDown]
    public void RemoveDirectory()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task A_node_joins_the_scheduler_the_token_names_then_connects_and_renews_with_its_certificate()
    {
        using var pki = new TestPki();
        await using var scheduler = await TestScheduler.StartAsync(pki, pki.JoinToken());
        var options = Options(scheduler.Address, pki.JoinToken());
        var store = new NodeCredentialStore(_directory);
        var security = AgentSecurity.FromSettings(options, store);
        var holder = new NodeCredentialsHolder();

        await Enrollment(options, security, store, holder).JoinAsync(new Backoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), new Random(1)), Timeout());

        var join = scheduler.Calls.Joins.Single();
        Assert.Multiple(() =>
        {
            Assert.That((join.Cluster, join.NodeName, join.JoinToken), Is.EqualTo(("default", "node-1", pki.JoinToken())));
            Assert.That(holder.Current!.NodeName, Is.EqualTo("node-1"));
            Assert.That(store.Load()!.Certificate.Thumbprint, Is.EqualTo(holder.Current.Certificate.Thumbprint));
        });

        using var channel = new SchedulerChannel(options, security, holder, NullLogger<SchedulerChannel>.Instance);
        Assert.That(await RegisteredAsAsync(channel.Client), Is.EqualTo("node-1"), "the scheduler saw the node certificate");

        var renewal = await channel.Client.RenewCertificateAsync(new RenewCertificateRequest { Csr = Google.Protobuf.ByteString.CopyFrom(CertificateSigningRequest.Create("node-1").Der) });
        Assert.That(renewal.CertificatePem, Does.StartWith("-----BEGIN CERTIFICATE-----"));

        using var renewer = new CertificateRenewer(channel.Client, store, holder, new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(61)), NullLogger<CertificateRenewer>.Instance);
        await renewer.StartAsync(CancellationToken.None);
        while (holder.Generation < 2)
        {
            await Task.Delay(10, Timeout());
        }

        await renewer.StopAsync(CancellationToken.None);
        Assert.That(await RegisteredAsAsync(channel.Client), Is.EqualTo("node-1"));
        var serials = scheduler.Calls.ClientSerials.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(serials[0], Is.EqualTo(serials[1]), "the first Connect and the direct renewal: one certificate");
            Assert.That(serials[^1], Is.EqualTo(holder.Current!.Certificate.SerialNumber), "after the swap, the renewed certificate is presented on the same channel");
            Assert.That(serials[^1], Is.Not.EqualTo(serials[0]));
        });
    }

    [Test]
    public async Task A_scheduler_with_another_CA_never_gets_the_token()
    {
        using var pki = new TestPki();
        using var impostor = new TestPki("impostor CA");
        await using var scheduler = await TestScheduler.StartAsync(impostor, pki.JoinToken());
        var options = Options(scheduler.Address, pki.JoinToken());
        var store = new NodeCredentialStore(_directory);
        var security = AgentSecurity.FromSettings(options, store);

        var refused = Assert.ThrowsAsync<JoinResponseException>(() => Enrollment(options, security, store, new NodeCredentialsHolder()).JoinOnceAsync(security.JoinToken!, Timeout()));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.Message, Does.Contain("is not the one the join token names").And.Contain("the token was not sent"));
            Assert.That(scheduler.Calls.Joins, Is.Empty, "the CA it answered did not match the token's digest: no Join was sent");
            Assert.That(store.Load(), Is.Null);
        });
    }

    [Test]
    public async Task A_man_in_the_middle_that_answers_the_real_CA_still_never_gets_the_token()
    {
        // The CA certificate is public: an impostor can answer it, but cannot hold a server certificate it issued.
        using var pki = new TestPki();
        using var impostor = new TestPki("impostor CA");
        await using var scheduler = await TestScheduler.StartAsync(impostor, pki.JoinToken(), answeredCa: pki);
        var options = Options(scheduler.Address, pki.JoinToken());
        var store = new NodeCredentialStore(_directory);
        var security = AgentSecurity.FromSettings(options, store);
        var log = new RecordingLogger<NodeEnrollment>();

        var holder = new NodeCredentialsHolder();
        using var channel = new SchedulerChannel(options, security, holder, NullLogger<SchedulerChannel>.Instance);
        var refused = Assert.ThrowsAsync<RpcException>(() => new NodeEnrollment(options, security, store, holder, channel, TimeProvider.System, log).JoinOnceAsync(security.JoinToken!, Timeout()));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.StatusCode, Is.AnyOf(StatusCode.Unavailable, StatusCode.Internal), "the TLS handshake of the Join call failed");
            Assert.That(scheduler.Calls.Joins, Is.Empty);
            Assert.That(log.Lines, Has.Some.Contains("was not issued by the cluster CA of the join token"));
            Assert.That(log.Lines, Has.None.Contains("s3cr3tvalue"));
        });
    }

    [Test]
    public async Task A_wrong_secret_is_refused_by_the_right_scheduler_as_unauthenticated()
    {
        using var pki = new TestPki();
        await using var scheduler = await TestScheduler.StartAsync(pki, pki.JoinToken("current"));
        var options = Options(scheduler.Address, pki.JoinToken("rotated-away"));
        var store = new NodeCredentialStore(_directory);
        var security = AgentSecurity.FromSettings(options, store);

        var refused = Assert.ThrowsAsync<RpcException>(() => Enrollment(options, security, store, new NodeCredentialsHolder()).JoinOnceAsync(security.JoinToken!, Timeout()));
        Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
    }

    [Test]
    public async Task After_joining_a_server_of_another_CA_is_refused()
    {
        using var pki = new TestPki();
        using var impostor = new TestPki("impostor CA");
        await using var real = await TestScheduler.StartAsync(pki, pki.JoinToken());
        var options = Options(real.Address, pki.JoinToken());
        var store = new NodeCredentialStore(_directory);
        var security = AgentSecurity.FromSettings(options, store);
        var holder = new NodeCredentialsHolder();
        await Enrollment(options, security, store, holder).JoinAsync(new Backoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), new Random(1)), Timeout());

        await using var other = await TestScheduler.StartAsync(impostor, impostor.JoinToken());
        options.SchedulerAddress = other.Address;
        using var channel = new SchedulerChannel(options, security, holder, NullLogger<SchedulerChannel>.Instance);
        var refused = Assert.ThrowsAsync<RpcException>(() => RegisteredAsAsync(channel.Client));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.StatusCode, Is.AnyOf(StatusCode.Unavailable, StatusCode.Internal));
            Assert.That(other.Calls.ClientSerials, Is.Empty);
        });
    }

    private AgentOptions Options(string address, string token) =>
        new() { SchedulerAddress = address, JoinToken = token, NodeName = "node-1", StateDirectory = _directory };

    private static NodeEnrollment Enrollment(AgentOptions options, AgentSecurity security, NodeCredentialStore store, NodeCredentialsHolder holder) =>
        new(options, security, store, holder, new SchedulerChannel(options, security, holder, NullLogger<SchedulerChannel>.Instance), TimeProvider.System,
            NullLogger<NodeEnrollment>.Instance);

    private static async Task<string> RegisteredAsAsync(AgentService.AgentServiceClient client)
    {
        using var call = client.Connect(cancellationToken: Timeout());
        await call.RequestStream.WriteAsync(new AgentMessage { Register = new RegisterNode { NodeName = "whatever" } });
        Assert.That(await call.ResponseStream.MoveNext(Timeout()), Is.True);
        return call.ResponseStream.Current.Registered.Node.Name;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;
}
