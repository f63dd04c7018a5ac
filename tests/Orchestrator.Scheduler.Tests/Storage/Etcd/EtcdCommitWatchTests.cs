using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>A standby's view: the commits another store makes, read from etcd's watch; and history compaction.</summary>
internal sealed class EtcdCommitWatchTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    private static ChangeSet PutCluster(string name) => new([StoreTables.Clusters.Put(new ClusterRecord(name, Now))]);

    private static async Task<List<EtcdWatchedCommit>> TakeAsync(IAsyncEnumerable<EtcdWatchedCommit> commits, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var taken = new List<EtcdWatchedCommit>();
        await foreach (var commit in commits.WithCancellation(timeout.Token))
        {
            taken.Add(commit);
            if (taken.Count == count)
            {
                break;
            }
        }

        return taken;
    }

    [Test]
    public async Task The_watch_delivers_each_commit_of_another_store_once_in_order_with_its_version_and_changes()
    {
        var client = EtcdTestCluster.Connection.Client;
        var options = EtcdTestCluster.FreshOptions();
        using var standby = new EtcdStateStore(client, options);
        await standby.LoadAsync();
        using var leader = new EtcdStateStore(client, options);

        // Every table (node keys hold '/'), then a delete beside a put; an empty commit and an election
        // write make no commit of their own.
        var first = StateStoreContract.Everything().ToChangeSet();
        var second = new ChangeSet([StoreTables.Nodes.Delete(NodeRecord.KeyOf("prod", "n1")), StoreTables.Clusters.Put(new ClusterRecord("staging", Now))]);
        var version = await leader.CommitAsync(first, 0);
        await client.PutAsync(options.Prefix + "/leader/694d7a1b2c3d4e5f", "127.0.0.1:7400");
        version = await leader.CommitAsync(second, version);
        version = await leader.CommitAsync(ChangeSet.Empty, version);
        await client.PutAsync(options.Prefix + "/security/ca", "pem");

        var watch = new EtcdCommitWatch(client, options.Prefix);
        var reading = TakeAsync(watch.ReadAsync(standby.LoadedRevision + 1), 3);
        // The third arrives while the watch is open.
        var third = PutCluster("live");
        await leader.CommitAsync(third, version);
        var commits = await reading;

        Assert.Multiple(() =>
        {
            Assert.That(commits.Select(c => c.Version), Is.EqualTo(new long[] { 1, 2, 3 }));
            Assert.That(commits.Select(c => c.Changes.ToBytes()), Is.EqualTo(new[] { first.ToBytes(), second.ToBytes(), third.ToBytes() }), "the change sets as committed, in their order");
            Assert.That(commits.Select(c => c.Revision), Is.Ordered.Ascending.And.Unique);
            Assert.That(commits[0].Revision, Is.GreaterThan(standby.LoadedRevision));
        });
    }

    [Test]
    public async Task Compaction_drops_old_history_and_a_watch_from_before_it_says_so()
    {
        var client = EtcdTestCluster.Connection.Client;
        var options = EtcdTestCluster.FreshOptions();
        using var store = new EtcdStateStore(client, options);
        await store.LoadAsync();
        var from = store.LoadedRevision + 1;
        var version = 0L;
        for (var i = 0; i < 5; i++)
        {
            version = await store.CommitAsync(PutCluster($"c{i}"), version);
        }

        var time = new FakeTimeProvider(Now);
        var compactor = new EtcdCompactor(client, options.Prefix, time, keepRevisions: 2, keepFor: TimeSpan.FromMinutes(5));
        var tooYoung = await compactor.CompactAsync();
        time.Advance(TimeSpan.FromMinutes(5));
        var compacted = await compactor.CompactAsync();
        var again = await compactor.CompactAsync();

        var oldRead = Assert.ThrowsAsync<RpcException>(() => client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(options.Prefix + "/version"), Revision = from }))!;
        var watch = new EtcdCommitWatch(client, options.Prefix);
        var refused = Assert.ThrowsAsync<EtcdWatchException>(() => TakeAsync(watch.ReadAsync(from), 1))!;
        var state = await store.LoadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(tooYoung, Is.Null, "nothing is compacted before it is keepFor old");
            Assert.That(compacted, Is.GreaterThan(from), "the revisions seen five minutes ago, less two, were compacted");
            Assert.That(again, Is.Null, "nothing more is due");
            Assert.That(EtcdRpcFailure.IsCompacted(oldRead), Is.True, oldRead.Message);
            Assert.That(refused.CompactRevision, Is.EqualTo(compacted));
            Assert.That(refused.Message, Does.Contain("compacted").And.Contain("load the state again"));
            Assert.That(state.Version, Is.EqualTo(5), "the state itself is untouched");
        });
    }

    [Test]
    public async Task A_watch_whose_etcd_goes_away_throws_instead_of_waiting_for_ever()
    {
        using var cluster = await EtcdCluster.StartAsync(1);
        var options = new EtcdOptions { Endpoints = cluster.Endpoints, Prefix = "/test/broken" };
        using var connection = EtcdClientFactory.Create(options);
        using var store = new EtcdStateStore(connection.Client, options);
        await store.LoadAsync();
        await store.CommitAsync(PutCluster("before"), 0);
        var watch = new EtcdCommitWatch(connection.Client, options.Prefix);

        // The first commit arrives, then etcd dies while the watch waits for the next.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var commits = watch.ReadAsync(store.LoadedRevision + 1, timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.That(await commits.MoveNextAsync(), Is.True);
        cluster.Members[0].Kill();
        var broken = Assert.ThrowsAsync<EtcdWatchException>(async () => await commits.MoveNextAsync())!;
        Assert.Multiple(() =>
        {
            Assert.That(broken.CompactRevision, Is.Null);
            Assert.That(broken.Message, Does.Contain("/test/broken"));
        });
    }
}
