using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Security;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Security;

internal sealed class CertificateRenewerTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);

    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"agent-renewal-{Guid.NewGuid():N}");

    [TearDown]
    public void RemoveDirectory()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task The_certificate_is_renewed_once_a_third_of_its_lifetime_remains_and_not_before()
    {
        using var pki = new TestPki();
        var time = new CountingTimeProvider(DateTimeOffset.UtcNow);
        var store = new NodeCredentialStore(_directory);
        var holder = new NodeCredentialsHolder(Issue(pki, store, time.GetUtcNow()));
        var authority = new FakeAuthority(pki, time);
        using var renewer = new CertificateRenewer(authority, store, holder, time, NullLogger<CertificateRenewer>.Instance);

        await renewer.StartAsync(CancellationToken.None);
        await time.WaitForTimersAsync(1);
        time.Advance(TimeSpan.FromDays(19));
        await time.WaitForTimersAsync(2);
        Assert.That(authority.Calls, Is.Zero, "19 of 30 days: two thirds remain");

        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await time.WaitForTimersAsync(3);
        Assert.Multiple(() =>
        {
            Assert.That(authority.Calls, Is.EqualTo(1));
            Assert.That(holder.Generation, Is.EqualTo(2));
            Assert.That(holder.Current!.NotAfter, Is.EqualTo(time.GetUtcNow() + Lifetime).Within(TimeSpan.FromSeconds(1)));
            Assert.That(store.Load()!.Certificate.Thumbprint, Is.EqualTo(holder.Current.Certificate.Thumbprint), "saved before it is used");
        });

        time.Advance(TimeSpan.FromDays(19));
        await time.WaitForTimersAsync(4);
        Assert.That(authority.Calls, Is.EqualTo(1), "the new certificate has its own lifetime");
        await renewer.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_certificate_already_due_at_start_is_renewed_at_once_with_a_new_key()
    {
        using var pki = new TestPki();
        var time = new CountingTimeProvider(DateTimeOffset.UtcNow);
        var store = new NodeCredentialStore(_directory);
        var old = Issue(pki, store, time.GetUtcNow() - TimeSpan.FromDays(25));
        var holder = new NodeCredentialsHolder(old);
        var authority = new FakeAuthority(pki, time);
        using var renewer = new CertificateRenewer(authority, store, holder, time, NullLogger<CertificateRenewer>.Instance);

        await renewer.StartAsync(CancellationToken.None);
        await time.WaitForTimersAsync(1);
        using var oldKey = old.Certificate.GetECDsaPrivateKey()!;
        using var newKey = holder.Current!.Certificate.GetECDsaPrivateKey()!;
        Assert.Multiple(() =>
        {
            Assert.That(authority.Calls, Is.EqualTo(1));
            Assert.That(newKey.ExportSubjectPublicKeyInfo(), Is.Not.EqualTo(oldKey.ExportSubjectPublicKeyInfo()));
            Assert.That(holder.Current.NodeName, Is.EqualTo("node-1"));
        });
        await renewer.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_failed_renewal_is_tried_again_a_minute_later()
    {
        using var pki = new TestPki();
        var time = new CountingTimeProvider(DateTimeOffset.UtcNow);
        var store = new NodeCredentialStore(_directory);
        var holder = new NodeCredentialsHolder(Issue(pki, store, time.GetUtcNow() - TimeSpan.FromDays(21)));
        var authority = new FakeAuthority(pki, time) { Failures = 1 };
        using var renewer = new CertificateRenewer(authority, store, holder, time, NullLogger<CertificateRenewer>.Instance);

        await renewer.StartAsync(CancellationToken.None);
        await time.WaitForTimersAsync(1);
        Assert.That((authority.Calls, holder.Generation), Is.EqualTo((1, 1)), "refused once: still the old certificate");

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.That(authority.Calls, Is.EqualTo(1));
        time.Advance(TimeSpan.FromSeconds(1));
        await time.WaitForTimersAsync(2);
        Assert.That((authority.Calls, holder.Generation), Is.EqualTo((2, 2)));
        await renewer.StopAsync(CancellationToken.None);
    }

    private static NodeCredentials Issue(TestPki pki, NodeCredentialStore store, DateTimeOffset notBefore)
    {
        using var csr = CertificateSigningRequest.Create("node-1");
        return store.Save(csr.Key, pki.IssueNode(csr.Der, "node-1", "default", notBefore, notBefore + Lifetime), pki.CaPem);
    }

    /// <summary>The scheduler's RenewCertificate: signs the CSR for 30 days from the fake now.</summary>
    private sealed class FakeAuthority(TestPki pki, TimeProvider time) : AgentService.AgentServiceClient
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public int Failures { get; set; }

        public override AsyncUnaryCall<RenewCertificateResponse> RenewCertificateAsync(RenewCertificateRequest request, Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            Task<RenewCertificateResponse> answer;
            if (Failures-- > 0)
            {
                answer = Task.FromException<RenewCertificateResponse>(new RpcException(new Status(StatusCode.Unavailable, "the scheduler is restarting")));
            }
            else
            {
                var now = time.GetUtcNow();
                answer = Task.FromResult(new RenewCertificateResponse
                {
                    CertificatePem = pki.IssueNode(request.Csr.ToByteArray(), "node-1", "default", now, now + Lifetime),
                    CaCertificatePem = pki.CaPem,
                });
            }

            return new AsyncUnaryCall<RenewCertificateResponse>(answer, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }
    }
}

/// <summary>A fake clock that says how many timers (Task.Delay calls) were made, so a test knows when a loop waits again.</summary>
internal sealed class CountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly object _gate = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private int _timers;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            _timers++;
            foreach (var waiter in _waiters.Where(w => w.Count <= _timers).ToList())
            {
                waiter.Reached.TrySetResult();
                _waiters.Remove(waiter);
            }
        }

        return timer;
    }

    public Task WaitForTimersAsync(int count)
    {
        lock (_gate)
        {
            if (_timers >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, reached));
            return reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}
