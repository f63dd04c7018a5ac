using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>What the etcd store adds to the contract: it keeps off prefixes not its own, keeps within etcd's limits, and is fenced.</summary>
internal sealed class EtcdStateStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    private static EtcdClient Client => EtcdTestCluster.Connection.Client;

    private static ChangeSet PutClusters(int count, string tag = "") =>
        new([.. Enumerable.Range(0, count).Select(i => StoreTables.Clusters.Put(new ClusterRecord($"c{i}", Now) { Tags = new Dictionary<string, string> { ["t"] = tag } }))]);

    /// <summary>Every key and value under the prefix, and the mod revision of each: what "untouched" compares.</summary>
    private static async Task<string[]> RawAsync(string prefix)
    {
        var range = await Client.GetRangeAsync(prefix + "/");
        return [.. range.Kvs.Select(kv => $"{kv.Key.ToStringUtf8()}={kv.Value.ToStringUtf8()}@{kv.ModRevision}")];
    }

    public static IEnumerable<TestCaseData> ForeignPrefixes()
    {
        yield return new TestCaseData("/other/thing", "x", "but no").SetName("A prefix holding keys but no meta is refused");
        yield return new TestCaseData("/t/clusters/prod", "{}", "but no").SetName("A prefix holding records but no meta is refused");
        yield return new TestCaseData("/version", "not a number", "but no").SetName("A prefix holding a version of something else but no meta is refused");
        yield return new TestCaseData("/meta", """{"kind":"something-else","schema":1}""", "\"something-else\"").SetName("A prefix of another kind is refused");
        yield return new TestCaseData("/meta", $$"""{"kind":"{{EtcdKeys.MetaKind}}","schema":2}""", "schema 2").SetName("A prefix of another schema is refused");
        yield return new TestCaseData("/meta", "not json", "not JSON").SetName("A prefix whose meta is not JSON is refused");
    }

    [TestCaseSource(nameof(ForeignPrefixes))]
    public async Task A_foreign_prefix_is_refused_naming_it_and_left_untouched(string key, string value, string why)
    {
        var options = EtcdTestCluster.FreshOptions();
        await Client.PutAsync(options.Prefix + key, value);
        var before = await RawAsync(options.Prefix);

        using var store = new EtcdStateStore(Client, options);
        var refused = Assert.ThrowsAsync<StorageException>(() => store.LoadAsync())!;
        // Even a store that never loaded does not claim the prefix with its first commit.
        var commit = Assert.ThrowsAsync(Is.InstanceOf<Exception>(), () => store.CommitAsync(PutClusters(1), 0));

        Assert.Multiple(async () =>
        {
            Assert.That(refused.Message, Does.Contain(options.Prefix).And.Contain("Scheduler:Etcd:Prefix").And.Contain(why));
            Assert.That(commit, Is.Not.Null);
            Assert.That(await RawAsync(options.Prefix), Is.EqualTo(before), "nothing under the prefix changed");
        });
    }

    [Test]
    public async Task The_election_and_security_keys_do_not_make_a_new_prefix_foreign()
    {
        var options = EtcdTestCluster.FreshOptions();
        await Client.PutAsync(options.Prefix + "/leader/694d7a1b2c3d4e5f", "10.0.0.1:7400");
        await Client.PutAsync(options.Prefix + "/security/ca", "pem");
        using var store = new EtcdStateStore(Client, options);
        var state = await store.LoadAsync();
        var version = await store.CommitAsync(PutClusters(1), 0);
        var meta = await Client.GetValAsync(options.Prefix + "/meta");
        Assert.Multiple(() =>
        {
            Assert.That((state.IsNew, state.Version, version), Is.EqualTo((true, 0L, 1L)));
            Assert.That(meta, Is.EqualTo(EtcdKeys.MetaValue.ToStringUtf8()), "the first commit marks the prefix as ours");
        });
    }

    public static IEnumerable<TestCaseData> OverLimits()
    {
        // 15 puts + meta + version = 17 operations in the first commit.
        yield return new TestCaseData(new Action<EtcdOptions>(o => o.MaxTxnOps = 16), PutClusters(15), "Scheduler:Etcd:MaxTxnOps", "16")
            .SetName("A change set over MaxTxnOps is refused naming the limit");
        yield return new TestCaseData(new Action<EtcdOptions>(o => o.MaxRequestBytes = 8192), PutClusters(1, new string('x', 9000)), "Scheduler:Etcd:MaxRequestBytes", "8192")
            .SetName("A change set over MaxRequestBytes is refused naming the limit");
    }

    [TestCaseSource(nameof(OverLimits))]
    public async Task An_over_limit_change_set_is_refused_and_nothing_is_written(Action<EtcdOptions> limit, ChangeSet changes, string setting, string value)
    {
        var options = EtcdTestCluster.FreshOptions();
        limit(options);
        using var store = new EtcdStateStore(Client, options);
        var refused = Assert.ThrowsAsync<StorageException>(() => store.CommitAsync(changes, 0))!;
        var next = await store.CommitAsync(PutClusters(1), 0);
        Assert.Multiple(async () =>
        {
            Assert.That(refused.Message, Does.Contain(setting).And.Contain(value));
            Assert.That(refused.MayBeSaved, Is.False);
            Assert.That(next, Is.EqualTo(1), "the refused commit moved nothing: the next lands at version 0");
            Assert.That((await store.LoadAsync()).Of(StoreTables.Clusters), Has.Count.EqualTo(1));
            Assert.That(store.Lost.IsCompleted, Is.False, "a refusal before sending is no loss");
        });
    }

    [Test]
    public async Task A_change_set_at_the_limit_lands_and_one_key_changed_twice_counts_once()
    {
        var options = EtcdTestCluster.FreshOptions();
        options.MaxTxnOps = 16;
        using var store = new EtcdStateStore(Client, options);

        // 14 records + meta + version = 16; the 15th change is of c0 again and is sent as one op.
        var changes = new ChangeSet([.. PutClusters(14).Changes, StoreTables.Clusters.Delete("c0")]);
        var version = await store.CommitAsync(changes, 0);
        var names = (await store.LoadAsync()).Of(StoreTables.Clusters).Select(c => c.Name);
        Assert.Multiple(() =>
        {
            Assert.That(version, Is.EqualTo(1));
            Assert.That(names, Is.EquivalentTo(Enumerable.Range(1, 13).Select(i => $"c{i}")), "the last change of c0 (its delete) stands");
        });
    }

    [Test]
    public async Task ReadVersion_says_what_etcd_holds_now_including_another_stores_commits()
    {
        var options = EtcdTestCluster.FreshOptions();
        using var reader = new EtcdStateStore(Client, options);
        using var writer = new EtcdStateStore(Client, options);
        var empty = await reader.ReadVersionAsync();
        await writer.CommitAsync(PutClusters(1), 0);
        await writer.CommitAsync(PutClusters(2), 1);
        Assert.That((empty, await reader.ReadVersionAsync()), Is.EqualTo((0L, 2L)));
    }

    [Test]
    public async Task A_change_set_cut_to_the_stores_limits_lands()
    {
        var options = EtcdTestCluster.FreshOptions();
        options.MaxTxnOps = 16;
        options.MaxRequestBytes = 16 * 1024;
        using var store = new EtcdStateStore(Client, options);
        var limits = store.Limits;

        // As many of these records as the limits say fit, by the writers' own estimate of their size.
        var record = new ClusterRecord("c", Now) { Tags = new Dictionary<string, string> { ["t"] = new string('x', 700) } };
        var fit = Math.Min(limits.MaxChanges, limits.MaxBytes / CommitChunks.BytesOfPut(StoreTables.Clusters, record with { Name = "c00" }));
        var changes = new ChangeSet([.. Enumerable.Range(0, fit).Select(i => StoreTables.Clusters.Put(record with { Name = $"c{i:D2}" }))]);
        var version = await store.CommitAsync(changes, 0);
        var freshOptions = EtcdTestCluster.FreshOptions();
        freshOptions.MaxTxnOps = options.MaxTxnOps;
        using var fresh = new EtcdStateStore(Client, freshOptions);
        var tooMany = new ChangeSet([.. Enumerable.Range(0, limits.MaxChanges + 1).Select(i => StoreTables.Clusters.Put(new ClusterRecord($"d{i}", Now)))]);
        Assert.Multiple(() =>
        {
            Assert.That(limits.MaxChanges, Is.EqualTo(14), "MaxTxnOps less the version and the meta");
            Assert.That(fit, Is.GreaterThan(1));
            Assert.That(version, Is.EqualTo(1));
            // One more than the limits would not fit the first commit of a prefix (it writes the meta too).
            Assert.That(() => fresh.CommitAsync(tooMany, 0), Throws.InstanceOf<StorageException>().With.Message.Contain("Scheduler:Etcd:MaxTxnOps"));
        });
    }

    public static IEnumerable<TestCaseData> FenceLosses()
    {
        yield return new TestCaseData(new Func<string, Task>(key => Client.DeleteAsync(key))).SetName("A commit after the leader key is gone is refused as not the leader");
        yield return new TestCaseData(new Func<string, Task>(async key =>
        {
            await Client.DeleteAsync(key);
            await Client.PutAsync(key, "another leader");
        })).SetName("A commit after the leader key was made again is refused as not the leader");
    }

    [TestCaseSource(nameof(FenceLosses))]
    public async Task A_lost_fence_refuses_the_commit_and_writes_nothing(Func<string, Task> depose)
    {
        var options = EtcdTestCluster.FreshOptions();
        var leaderKey = options.Prefix + "/leader/694d7a1b2c3d4e5f";
        var put = await Client.PutAsync(leaderKey, "127.0.0.1:7400");
        var fence = new EtcdFence(ByteString.CopyFromUtf8(leaderKey), put.Header.Revision);
        var told = new List<string>();
        using var store = new EtcdStateStore(Client, options, () => fence, fenceLost: told.Add);
        var version = await store.CommitAsync(PutClusters(1), 0);

        await depose(leaderKey);
        var before = await RawAsync(options.Prefix + "/t");
        var refused = Assert.ThrowsAsync<StorageException>(() => store.CommitAsync(PutClusters(2), version))!;
        var emptyRefused = Assert.ThrowsAsync<StorageException>(() => store.CommitAsync(ChangeSet.Empty, version))!;
        var state = await store.LoadAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(version, Is.EqualTo(1), "the fence held for the first commit");
            Assert.That(EtcdFenceLostException.Is(refused), Is.True, "told apart from a storage fault");
            Assert.That(EtcdFenceLostException.Is(emptyRefused), Is.True);
            Assert.That(refused.Message, Does.Contain("no longer the leader"));
            Assert.That(state.Version, Is.EqualTo(1));
            Assert.That(await RawAsync(options.Prefix + "/t"), Is.EqualTo(before), "no record written");
            Assert.That(store.Lost.IsCompleted, Is.False);
            Assert.That(told, Has.Count.EqualTo(2), "the leadership is told, to depose itself");
        });
    }

    [Test]
    public async Task A_fenced_store_with_no_fence_held_sends_nothing()
    {
        var options = EtcdTestCluster.FreshOptions();
        using var store = new EtcdStateStore(Client, options, () => null);

        var refused = Assert.ThrowsAsync<StorageException>(() => store.CommitAsync(PutClusters(1), 0))!;

        Assert.Multiple(async () =>
        {
            Assert.That(refused.Message, Does.Contain("not the leader"));
            Assert.That(EtcdFenceLostException.Is(refused), Is.True);
            Assert.That(await RawAsync(options.Prefix), Is.Empty, "nothing written, not even the meta");
        });
    }

    [Test]
    public async Task A_stale_commit_with_a_valid_fence_is_a_conflict_not_a_lost_fence()
    {
        var options = EtcdTestCluster.FreshOptions();
        var leaderKey = options.Prefix + "/leader/1";
        var put = await Client.PutAsync(leaderKey, "127.0.0.1:7400");
        var fence = new EtcdFence(ByteString.CopyFromUtf8(leaderKey), put.Header.Revision);
        using var store = new EtcdStateStore(Client, options, () => fence);
        await store.CommitAsync(PutClusters(1), 0);
        var conflict = Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(PutClusters(1), 0))!;
        Assert.That((conflict.Expected, conflict.Actual), Is.EqualTo((0L, 1L)));
        Assert.That(store.Lost.IsCompleted, Is.True, "a leader whose memory is behind etcd restarts to load it");
    }

    [Test]
    public async Task A_commit_whose_answer_never_comes_makes_the_store_lost_and_refuses_the_next()
    {
        var options = EtcdTestCluster.FreshOptions();
        using var store = new EtcdStateStore(Client, options, requestTimeout: TimeSpan.FromTicks(1));

        // A deadline that has passed as the request is sent: etcd may or may not have applied it.
        var lost = Assert.ThrowsAsync<StorageException>(() => store.CommitAsync(PutClusters(1), 0))!;
        var next = Assert.ThrowsAsync<StorageException>(() => store.CommitAsync(PutClusters(1), 0))!;
        Assert.Multiple(() =>
        {
            Assert.That(lost.MayBeSaved, Is.True);
            Assert.That(store.Lost.IsCompletedSuccessfully, Is.True);
            Assert.That(next.Message, Does.Contain("restart the scheduler"));
        });
    }

    [Test]
    public async Task Load_reads_more_records_than_one_page_as_one_snapshot_and_remembers_its_revision()
    {
        var options = EtcdTestCluster.FreshOptions();
        using var store = new EtcdStateStore(Client, options);
        var version = 0L;
        const int Records = EtcdStateStore.LoadPageSize * 2 + 7;
        for (var first = 0; first < Records; first += 100)
        {
            var batch = new ChangeSet([.. Enumerable.Range(first, Math.Min(100, Records - first)).Select(i => StoreTables.Clusters.Put(new ClusterRecord($"c{i:D4}", Now)))]);
            version = await store.CommitAsync(batch, version);
        }

        var head = (await Client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(options.Prefix + "/version") })).Header.Revision;
        var state = await store.LoadAsync();
        Assert.Multiple(() =>
        {
            Assert.That(state.Of(StoreTables.Clusters), Has.Count.EqualTo(Records));
            Assert.That(state.Version, Is.EqualTo(version));
            Assert.That(store.LoadedRevision, Is.GreaterThanOrEqualTo(head));
        });
    }
}
