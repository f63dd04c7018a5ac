using dotnet_etcd;
using Etcdserverpb;
using Grpc.Net.Client;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Tests.Integration;
using Orchestrator.Scheduler.Storage.Etcd;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.HA;

/// <summary>Leader election of several schedulers on a real etcd (one member, on loopback).</summary>
internal sealed class EtcdLeadershipTests
{
    private static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private EtcdCluster _cluster = null!;
    private EtcdClient _etcd = null!;
    private readonly List<EtcdLeadership> _started = [];

    [OneTimeSetUp]
    public async Task StartEtcd()
    {
        _cluster = await EtcdCluster.StartAsync(1);
        _etcd = Connect(_cluster.Endpoints);
    }

    [OneTimeTearDown]
    public void StopEtcd()
    {
        _etcd.Dispose();
        _cluster.Dispose();
    }

    [TearDown]
    public async Task StopSchedulers()
    {
        foreach (var leadership in _started)
        {
            await leadership.StopAsync(CancellationToken.None);
            leadership.Dispose();
        }

        _started.Clear();
    }

    [Test]
    public async Task Of_three_candidates_exactly_one_leads_and_the_others_see_its_address()
    {
        var prefix = NewPrefix();
        var candidates = new[] { await StartAsync(prefix, "10.0.0.1:5000", ShortLease), await StartAsync(prefix, "10.0.0.2:5000", ShortLease), await StartAsync(prefix, "10.0.0.3:5000", ShortLease) };
        await Task.WhenAny(candidates.Select(c => c.Elected)).WaitAsync(Wait);
        var leader = candidates.Single(c => c.IsLeader);
        var standbys = candidates.Where(c => c != leader).ToList();
        await Polling.UntilAsync(() => Task.FromResult(standbys.All(s => s.LeaderAddress == leader.LeaderAddress)), "the standbys see the leader's address", Wait,
            () => string.Join("; ", standbys.Select(s => s.NotLeaderReason)));

        var leaderHealth = await new LeadershipHealthCheck(leader).CheckHealthAsync(new HealthCheckContext());
        var standbyHealth = await new LeadershipHealthCheck(standbys[0]).CheckHealthAsync(new HealthCheckContext());
        // Each candidate's campaign puts its key, the standbys' perhaps a moment after they saw the leader.
        RangeResponse keys = null!;
        await Polling.UntilAsync(async () => (keys = await _etcd.GetRangeAsync(EtcdLeadership.ElectionName(prefix) + "/")).Kvs.Count == 3, "every candidate has its key", Wait);
        Assert.Multiple(() =>
        {
            Assert.That(candidates.Count(c => c.IsLeader), Is.EqualTo(1));
            Assert.That(leader.NotLeaderReason, Is.Null);
            Assert.That(leader.Fence, Is.Not.Null);
            Assert.That(standbys.Select(s => s.Fence), Is.All.Null);
            Assert.That(standbys.Select(s => s.NotLeaderReason), Is.All.EqualTo($"this scheduler is a standby; the leader is at {leader.LeaderAddress}"));
            Assert.That(standbys.Select(s => s.Elected.IsCompleted), Is.All.False);
            Assert.That(leaderHealth.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(standbyHealth.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(standbyHealth.Description, Is.EqualTo($"standby; leader at {leader.LeaderAddress}"));
            Assert.That(keys.Kvs.Single(kv => kv.Key == leader.Fence!.LeaderKey).Value.ToStringUtf8(), Is.EqualTo(leader.LeaderAddress));
        });
    }

    [Test]
    public async Task A_leader_stopped_gracefully_resigns_and_a_standby_takes_over_without_waiting_out_the_lease()
    {
        // A lease far longer than the wait: the standby can only lead in time if the leader gave its lease back.
        var longLease = TimeSpan.FromSeconds(60);
        var prefix = NewPrefix();
        var first = await StartAsync(prefix, "10.0.0.1:5000", longLease);
        await first.Elected.WaitAsync(Wait);
        var second = await StartAsync(prefix, "10.0.0.2:5000", longLease);
        var fence = first.Fence!;

        await first.StopAsync(CancellationToken.None);
        await second.Elected.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Multiple(() =>
        {
            Assert.That(second.IsLeader, Is.True);
            Assert.That(first.IsLeader, Is.False);
            Assert.That(first.Deposed.IsCancellationRequested, Is.True, "writers stop before the lease is given back");
            Assert.That(first.DeposedReason.IsCompleted, Is.False, "a resignation at stop is no reason to restart");
            Assert.That(first.NotLeaderReason, Does.Contain("resigned"));
        });
        Assert.That(await FenceHoldsAsync(fence), Is.False, "the resigned leader's fence no longer holds");
    }

    [Test]
    public async Task A_leader_whose_keep_alives_stop_deposes_itself_before_etcd_expires_its_lease_and_its_fence_fails()
    {
        var prefix = NewPrefix();
        var first = await StartAsync(prefix, "10.0.0.1:5000", ShortLease);
        await first.Elected.WaitAsync(Wait);
        var second = await StartAsync(prefix, "10.0.0.2:5000", ShortLease);
        var fence = first.Fence!;
        var lease = first.LeaseId;
        Assert.That(await FenceHoldsAsync(fence), Is.True, "the leader's fence holds while it leads");

        // What etcd says at the very moment the leader stops leading (synchronously, in the callback).
        long ttlOnEtcd = long.MinValue;
        var keyOnEtcd = false;
        using var _ = first.Deposed.Register(() =>
        {
            ttlOnEtcd = _etcd.LeaseTimeToLive(new LeaseTimeToLiveRequest { ID = lease }).TTL;
            keyOnEtcd = _etcd.Get(new RangeRequest { Key = fence.LeaderKey }).Kvs.Count == 1;
        });

        first.KeepAlivesSuspended = true;
        var reason = await first.DeposedReason.WaitAsync(Wait);
        await second.Elected.WaitAsync(Wait);
        var deposedHealth = await new LeadershipHealthCheck(first).CheckHealthAsync(new HealthCheckContext());

        Assert.Multiple(() =>
        {
            Assert.That(ttlOnEtcd, Is.GreaterThanOrEqualTo(0), "etcd had not expired the lease when the leader deposed itself (-1: expired)");
            Assert.That(keyOnEtcd, Is.True, "the leader key was still on etcd, so no successor could have been elected yet");
            Assert.That(reason, Does.StartWith("lease lost"));
            Assert.That(first.IsLeader, Is.False);
            Assert.That(first.Fence, Is.Null);
            Assert.That(first.NotLeaderReason, Does.StartWith("this scheduler is no longer the leader: lease lost"));
            Assert.That(deposedHealth.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(second.IsLeader, Is.True);
        });
        Assert.That(await FenceHoldsAsync(fence), Is.False, "a Txn on the deposed leader's fence fails");
        Assert.That(await FenceHoldsAsync(second.Fence!), Is.True, "the new leader's fence holds");

        // Never leader again in this process, even with its keep-alives back.
        first.KeepAlivesSuspended = false;
        await second.StopAsync(CancellationToken.None);
        await Task.Delay(ShortLease / 2);
        Assert.That(first.IsLeader, Is.False);
    }

    [Test]
    public async Task With_etcd_frozen_the_leader_deposes_itself_and_a_standby_knows_no_leader()
    {
        using var cluster = await EtcdCluster.StartAsync(1);
        using var etcd = Connect(cluster.Endpoints);
        var prefix = NewPrefix();
        using var firstLogs = new CapturedLogs();
        using var secondLogs = new CapturedLogs();
        var first = Start(etcd, prefix, "10.0.0.1:5000", ShortLease, firstLogs);
        await first.StartAsync(CancellationToken.None);
        await first.Elected.WaitAsync(Wait);
        var second = Start(etcd, prefix, "10.0.0.2:5000", ShortLease, secondLogs);
        await second.StartAsync(CancellationToken.None);
        await Polling.UntilAsync(() => Task.FromResult(second.LeaderAddress == "10.0.0.1:5000"), "the standby sees the leader", Wait);

        cluster.Members[0].Freeze();
        try
        {
            await Polling.UntilAsync(() => Task.FromResult(first.DeposedReason.IsCompleted), "the leader deposes itself", Wait,
                () => $"first: {firstLogs.All}\nfirst says: {first.NotLeaderReason}");
            var reason = await first.DeposedReason;
            await Polling.UntilAsync(() => Task.FromResult(second.LeaderAddress is null), "the standby no longer believes in a leader", Wait);
            var standbyHealth = await new LeadershipHealthCheck(second).CheckHealthAsync(new HealthCheckContext());
            Assert.Multiple(() =>
            {
                Assert.That(reason, Does.StartWith("etcd unreachable ("));
                Assert.That(second.NotLeaderReason, Does.StartWith("no leader is known: etcd unreachable ("));
                Assert.That(standbyHealth.Status, Is.EqualTo(HealthStatus.Unhealthy));
                Assert.That(standbyHealth.Description, Does.StartWith("no leader is known"));
            });
        }
        finally
        {
            cluster.Members[0].Thaw();
        }

        // etcd back: the standby is elected (the deposed one gave its lease back or it expired).
        await Polling.UntilAsync(() => Task.FromResult(second.Elected.IsCompleted), "the standby is elected once etcd answers again", Wait,
            () => $"first: {firstLogs.All}\nsecond: {secondLogs.All}\nsecond says: {second.NotLeaderReason}");
        Assert.Multiple(() =>
        {
            Assert.That(first.IsLeader, Is.False);
            Assert.That(second.IsLeader, Is.True);
            Assert.That(second.DeposedReason.IsCompleted, Is.False, "a standby whose campaign returned past its deadline campaigns afresh; it does not lead on the stale lease and restart");
        });
    }

    [TestCase(1)]
    [TestCase(0.5)]
    public void A_lease_shorter_than_etcds_shortest_is_refused_naming_the_setting(double seconds)
    {
        var options = new EtcdOptions { LeaseTtl = TimeSpan.FromSeconds(seconds) };
        Assert.That(() => new EtcdLeadership(_etcd, options, "10.0.0.1:5000", TimeProvider.System, NullLogger<EtcdLeadership>.Instance),
            Throws.InvalidOperationException.With.Message.Contains("Scheduler:Etcd:LeaseTtl"));
    }

    /// <summary>A client on a plain gRPC channel, as the scheduler makes it (no retries of the client's own).</summary>
    private static EtcdClient Connect(string endpoint) => new(GrpcChannel.ForAddress(endpoint).CreateCallInvoker());

    private static string NewPrefix() => "/orchestrator-test/" + Guid.NewGuid().ToString("N");

    private async Task<EtcdLeadership> StartAsync(string prefix, string address, TimeSpan ttl)
    {
        var leadership = Start(_etcd, prefix, address, ttl);
        await leadership.StartAsync(CancellationToken.None);
        return leadership;
    }

    private EtcdLeadership Start(EtcdClient etcd, string prefix, string address, TimeSpan ttl, CapturedLogs? logs = null)
    {
        ILogger<EtcdLeadership> log = logs is null ? NullLogger<EtcdLeadership>.Instance : new LoggerFactory([logs]).CreateLogger<EtcdLeadership>();
        var leadership = new EtcdLeadership(etcd, new EtcdOptions { Prefix = prefix, LeaseTtl = ttl }, address, TimeProvider.System, log);
        _started.Add(leadership);
        return leadership;
    }

    /// <summary>Whether a Txn guarded by this fence (as the store's commits are) succeeds.</summary>
    private async Task<bool> FenceHoldsAsync(EtcdFence fence)
    {
        var request = new TxnRequest();
        request.Compare.Add(new Compare
        {
            Key = fence.LeaderKey,
            Target = Compare.Types.CompareTarget.Create,
            Result = Compare.Types.CompareResult.Equal,
            CreateRevision = fence.CreateRevision,
        });
        return (await _etcd.TransactionAsync(request)).Succeeded;
    }
}
