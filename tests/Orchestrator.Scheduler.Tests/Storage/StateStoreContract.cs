using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Tests.Domain;

namespace Orchestrator.Scheduler.Tests.Storage;

/// <summary>
/// What every <see cref="IStateStore"/> promises, as one suite run over each store (as Orleans runs
/// one membership-table suite over every table): LiteDB and memory here, a replicated store next.
/// Records are compared as the JSON every store writes, so dictionaries compare by content.
/// </summary>
internal abstract class StateStoreContract
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Opens the store under test (again, after <see cref="Reopen"/>: the same data).</summary>
    protected abstract IStateStore Open();

    /// <summary>Closes the store and opens it again, as a restart would.</summary>
    protected IStateStore Reopen(IStateStore store)
    {
        store.Dispose();
        return Open();
    }

    /// <summary>One record of every table.</summary>
    internal static WriteBatch Everything()
    {
        var batch = new WriteBatch();
        batch.Clusters.Add(new ClusterRecord("prod", Now) { Tags = new Dictionary<string, string> { ["env"] = "production" } });
        batch.TaskDefinitions.Add(new TaskDefinitionRecord("web", 3, Active: true, Now, null, [1, 2, 3], new TaskResourceDemand(256, 512, [new PortRequest("app", 80, 0, Protocol.Tcp)])));
        batch.Nodes.Add(new NodeRecord("prod", "n1", NodeState.Active, 4096, 8192, new Dictionary<string, string> { ["zone"] = "a" }, "1.0", Now));
        batch.Tasks.Add(TaskReportsTests.NewTask() with { Cluster = "prod", SecretVersions = new Dictionary<string, int> { ["db"] = 2, ["db:1"] = 1 } });
        batch.Services.Add(new ServiceRecord
        {
            Cluster = "prod",
            Name = "web",
            DesiredCount = 2,
            Strategies = [],
            Constraints = [],
            Deployments = [],
            CreatedAt = Now,
            LoadBalancers = [new LoadBalancerSpec("web-tg", "app", 80)],
            External = true,
        });
        batch.Puts(StoreTables.TargetGroups).Add(new TargetGroupRecord("web-tg", TargetProtocol.Http, 8080,
            new TargetHealthCheck(TargetProtocol.Tcp, "/healthz", "200-299", 10, 3, 4, 5), 45, Now));
        batch.Receipts.Add(new RunTaskReceipt("prod/token-1", "abc", ["t1"], [new ReceiptFailure("web:3", "RESOURCE:CPU", "no node")], Now));
        batch.Tokens.Add(new ApiTokenRecord("tok1", "ci", ApiRole.Admin, "hash", Now));
        batch.JoinTokens.Add(new JoinTokenRecord("joinhash", Now));
        batch.NodeIdentities.Add(new NodeIdentityRecord("prod", "n1", "0a1b"));
        batch.Secrets.Add(new SecretRecord("db", "postgres", [1, 2], 2, Now, Now.AddHours(1)));
        batch.SecretValues.Add(new SecretValueRecord("db", 2, "0011223344556677", [9, 8, 7], Now.AddHours(1)));
        batch.Events.Add(new ClusterEventRecord(7, Now, "prod", ClusterEventType.UnableToPlace, "service web is unable to place 2 tasks")
        {
            Service = "web",
            Deployment = "ecs-svc/1",
            Reasons = ["RESOURCE:MEMORY (2): no node has 512 MiB free"],
            StopCode = TaskStopCode.NodeLost,
        });
        return batch;
    }

    /// <summary>Every record the state holds, table by table, as JSON keyed by table and key.</summary>
    private static Dictionary<string, string> Contents(StoredState state) => Written(state.AsPuts());

    private static Dictionary<string, string> Written(IEnumerable<Change> changes) =>
        changes.Where(c => !c.IsDelete).ToDictionary(c => $"{c.Table.Name}/{c.Key}", StoreJson.Write);

    private static Dictionary<string, string> Written(WriteBatch batch) => Written(batch.ToChangeSet().Changes);

    private static ChangeSet PutCluster(string name, DateTimeOffset? at = null) => new([StoreTables.Clusters.Put(new ClusterRecord(name, at ?? Now))]);

    private async Task<StoredState> LoadAfterReopenAsync(IStateStore store)
    {
        store = Reopen(store);
        try
        {
            return await store.LoadAsync();
        }
        finally
        {
            store.Dispose();
        }
    }

    [Test]
    public async Task A_new_store_is_empty_at_version_0()
    {
        using var store = Open();
        var state = await store.LoadAsync();
        Assert.Multiple(() =>
        {
            Assert.That((state.IsNew, state.Version), Is.EqualTo((true, 0L)));
            Assert.That(Contents(state), Is.Empty);
        });
    }

    [Test]
    public async Task Load_returns_exactly_what_was_committed_in_every_table_after_a_reopen()
    {
        var store = Open();
        var version = await store.CommitAsync(Everything().ToChangeSet(), 0);
        var state = await LoadAfterReopenAsync(store);
        Assert.Multiple(() =>
        {
            Assert.That(version, Is.EqualTo(1));
            Assert.That((state.IsNew, state.Version), Is.EqualTo((false, 1L)));
            Assert.That(Contents(state), Is.EquivalentTo(Written(Everything())));
            Assert.That(Contents(state).Keys.Select(k => k.Split('/')[0]).Distinct(), Is.EquivalentTo(StoreTables.All.Select(t => t.Name)), "one record of every table");
        });
    }

    [Test]
    public async Task Load_returns_every_table_as_the_puts_and_deletes_of_later_commits_left_it()
    {
        var store = Open();
        var version = await store.CommitAsync(Everything().ToChangeSet(), 0);

        // A put and a delete in every table: a second record beside the first, then the first deleted.
        var second = Everything().ToChangeSet().Changes.Select(c => c.Table.Name switch
        {
            "clusters" => StoreTables.Clusters.Put(new ClusterRecord("staging", Now)),
            "task_definitions" => StoreTables.TaskDefinitions.Put(((TaskDefinitionRecord)c.Record!) with { Revision = 4 }),
            "nodes" => StoreTables.Nodes.Put(((NodeRecord)c.Record!) with { Name = "n2" }),
            "tasks" => StoreTables.Tasks.Put(((TaskRecord)c.Record!) with { Id = "other-task" }),
            "services" => StoreTables.Services.Put(((ServiceRecord)c.Record!) with { Name = "api" }),
            "target_groups" => StoreTables.TargetGroups.Put(((TargetGroupRecord)c.Record!) with { Name = "api-tg", Port = 8081 }),
            "run_task_receipts" => StoreTables.Receipts.Put(((RunTaskReceipt)c.Record!) with { Key = "prod/token-2" }),
            "api_tokens" => StoreTables.Tokens.Put(((ApiTokenRecord)c.Record!) with { Id = "tok2" }),
            "join_tokens" => StoreTables.JoinTokens.Put(((JoinTokenRecord)c.Record!) with { SecretHash = "rotated" }),
            "node_identities" => StoreTables.NodeIdentities.Put(((NodeIdentityRecord)c.Record!) with { Node = "n2" }),
            "secrets" => StoreTables.Secrets.Put(((SecretRecord)c.Record!) with { Name = "api-key" }),
            "secret_values" => StoreTables.SecretValues.Put(((SecretValueRecord)c.Record!) with { Version = 3 }),
            "cluster_events" => StoreTables.Events.Put(((ClusterEventRecord)c.Record!) with { Sequence = 8 }),
            var name => throw new AssertionException($"a table this test does not know: {name}; give it a second record here"),
        }).ToList();
        // The join token has one key: its second record replaced the first, and is kept.
        var firstKeys = Everything().ToChangeSet().Changes.Where(c => c.Table != StoreTables.JoinTokens).Select(c => new Change(c.Table, c.Key, null));
        version = await store.CommitAsync(new ChangeSet([.. second, .. firstKeys]), version);
        var state = await LoadAfterReopenAsync(store);

        Assert.Multiple(() =>
        {
            Assert.That((version, state.Version), Is.EqualTo((2L, 2L)));
            Assert.That(Contents(state), Is.EquivalentTo(Written(second)), "only the second records, the join token (one key) replaced");
            Assert.That(state.Of(StoreTables.Nodes).Single().Name, Is.EqualTo("n2"), "read typed, by table");
        });
    }

    [Test]
    public async Task Each_commit_moves_the_version_on_by_one_and_an_empty_one_keeps_it()
    {
        using var store = Open();
        var first = await store.CommitAsync(Everything().ToChangeSet(), 0);
        var empty = await store.CommitAsync(ChangeSet.Empty, first);
        var second = await store.CommitAsync(new ChangeSet([StoreTables.Tasks.Delete(TaskReportsTests.NewTask().Id)]), empty);
        Assert.That((first, empty, second), Is.EqualTo((1L, 1L, 2L)));
    }

    [Test]
    public async Task Commits_begun_as_soon_as_the_previous_is_written_all_become_durable_in_order()
    {
        var store = Open();
        var commits = new List<StoreCommit>();
        var version = 0L;
        for (var i = 0; i < 20; i++)
        {
            // The next commit is begun at the version the last one was written at, without waiting for its flush.
            var commit = store.BeginCommit(PutCluster($"c{i}"), version);
            version = await commit.Written;
            commits.Add(commit);
        }

        // As each became durable, were all the earlier ones durable already?
        var inOrder = await Task.WhenAll(commits.Select((c, i) => c.Durable.ContinueWith(_ => commits.Take(i).All(p => p.Durable.IsCompletedSuccessfully), TaskScheduler.Default)));
        var state = await LoadAfterReopenAsync(store);
        Assert.Multiple(() =>
        {
            Assert.That(commits.Select(c => c.Durable.IsCompletedSuccessfully), Is.All.True);
            Assert.That(inOrder, Is.All.True, "durable in the order written");
            Assert.That(version, Is.EqualTo(20));
            Assert.That(state.Of(StoreTables.Clusters).Select(c => c.Name), Is.SupersetOf(Enumerable.Range(0, 20).Select(i => $"c{i}")));
            Assert.That(state.Version, Is.EqualTo(20));
        });
    }

    [Test]
    public async Task A_commit_at_a_stale_version_is_refused_and_changes_nothing()
    {
        var store = Open();
        await store.CommitAsync(Everything().ToChangeSet(), 0);
        await store.CommitAsync(PutCluster("second"), 1);
        var stale = new ChangeSet([StoreTables.Clusters.Delete("prod"), StoreTables.Clusters.Put(new ClusterRecord("other", Now))]);
        var refused = Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(stale, 1))!;
        var ahead = Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(stale, 3))!;
        var emptyRefused = Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(ChangeSet.Empty, 5));
        var next = await store.CommitAsync(ChangeSet.Empty, 2);
        var state = await LoadAfterReopenAsync(store);
        var expected = Written(Everything());
        expected["clusters/second"] = StoreJson.Write(PutCluster("second").Changes[0]);
        Assert.Multiple(() =>
        {
            Assert.That((refused.Expected, refused.Actual), Is.EqualTo((1L, 2L)));
            Assert.That((ahead.Expected, ahead.Actual), Is.EqualTo((3L, 2L)), "a version ahead of the store is as wrong as one behind");
            Assert.That(emptyRefused, Is.Not.Null, "even an empty commit must be at the store's version");
            Assert.That(next, Is.EqualTo(2), "the refusals left the version where it was");
            Assert.That(state.Version, Is.EqualTo(2));
            Assert.That(Contents(state), Is.EquivalentTo(expected));
        });
    }

    [Test]
    public async Task Deletes_remove_exactly_their_keys_and_a_missing_key_is_no_error()
    {
        var store = Open();
        var version = await store.CommitAsync(Everything().ToChangeSet(), 0);
        var delete = new WriteBatch();
        delete.DeletedClusters.Add("prod");
        delete.DeletedNodes.Add(NodeRecord.KeyOf("prod", "n1"));
        delete.DeletedTasks.Add("no-such-task");
        version = await store.CommitAsync(delete.ToChangeSet(), version);
        var contents = Contents(await LoadAfterReopenAsync(store));
        var expected = Written(Everything());
        expected.Remove("clusters/prod");
        expected.Remove($"nodes/{NodeRecord.KeyOf("prod", "n1")}");
        Assert.Multiple(() =>
        {
            Assert.That(version, Is.EqualTo(2));
            Assert.That(contents, Is.EquivalentTo(expected));
        });
    }

    [Test]
    public async Task A_put_replaces_the_record_under_its_key()
    {
        var store = Open();
        var version = await store.CommitAsync(Everything().ToChangeSet(), 0);
        await store.CommitAsync(PutCluster("prod", Now.AddDays(1)), version);
        var clusters = (await LoadAfterReopenAsync(store)).Of(StoreTables.Clusters);
        Assert.That(clusters.Select(c => (c.Name, c.CreatedAt)), Is.EqualTo(new[] { ("prod", Now.AddDays(1)) }));
    }

    [Test]
    public async Task The_changes_of_one_commit_are_written_in_their_order()
    {
        var store = Open();
        var cluster = new ClusterRecord("a", Now);
        var putThenDelete = new ChangeSet([StoreTables.Clusters.Put(cluster), StoreTables.Clusters.Delete("a")]);
        var deleteThenPut = new ChangeSet([StoreTables.Clusters.Delete("b"), StoreTables.Clusters.Put(cluster with { Name = "b" })]);
        var version = await store.CommitAsync(putThenDelete, 0);
        version = await store.CommitAsync(deleteThenPut, version);
        var state = await LoadAfterReopenAsync(store);
        Assert.That(state.Of(StoreTables.Clusters).Select(c => c.Name), Is.EqualTo(new[] { "b" }), "the last change of a key wins");
    }

    [Test]
    public async Task Commits_from_many_threads_at_once_land_one_at_a_time_with_consecutive_versions()
    {
        const int Writers = 8;
        const int EachWrites = 15;
        var store = Open();
        long latest = 0;
        var landed = new System.Collections.Concurrent.ConcurrentQueue<(int Writer, int Index, long Expected, long Version)>();
        using var start = new ManualResetEventSlim();

        // Each writer commits at the version it last saw and, refused, tries again at the store's: so at
        // each version all writers race, and exactly one may land.
        var writers = Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
        {
            start.Wait();
            for (var index = 0; index < EachWrites; index++)
            {
                while (true)
                {
                    var expected = Interlocked.Read(ref latest);
                    try
                    {
                        var version = await store.CommitAsync(PutCluster($"w{writer}-{index}"), expected);
                        landed.Enqueue((writer, index, expected, version));
                        Raise(ref latest, version);
                        break;
                    }
                    catch (StoreConflictException conflict)
                    {
                        Raise(ref latest, conflict.Actual);
                    }
                }
            }
        })).ToList();
        start.Set();
        await Task.WhenAll(writers);
        var state = await LoadAfterReopenAsync(store);

        const int Total = Writers * EachWrites;
        Assert.Multiple(() =>
        {
            Assert.That(landed.Select(l => l.Version).Order(), Is.EqualTo(Enumerable.Range(1, Total).Select(v => (long)v)), "each version given once, none skipped");
            Assert.That(landed.Where(l => l.Version != l.Expected + 1), Is.Empty, "each landed on the version it expected, so none was merged with another");
            Assert.That(landed.GroupBy(l => l.Writer).Where(g => !g.OrderBy(l => l.Index).Select(l => l.Version).SequenceEqual(g.Select(l => l.Version).Order())), Is.Empty,
                "a writer's commits land in the order it made them");
            Assert.That(state.Version, Is.EqualTo(Total));
            Assert.That(state.Of(StoreTables.Clusters).Select(c => c.Name), Is.EquivalentTo(landed.Select(l => $"w{l.Writer}-{l.Index}")));
        });
    }

    private static void Raise(ref long target, long value)
    {
        var seen = Interlocked.Read(ref target);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }
}

internal sealed class LiteDbStoreContractTests : StateStoreContract
{
    private string _directory = "";

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-contract-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    // The default flush: every commit fdatasync'ed, as in production.
    protected override IStateStore Open() => LiteDbStateStore.Open(Path.Combine(_directory, "state.db"));
}

internal sealed class InMemoryStoreContractTests : StateStoreContract
{
    private InMemoryStateStore _store = new();

    [SetUp]
    public void NewStore() => _store = new InMemoryStateStore();

    // Reopening memory is reading the same instance again: what a restart keeps is what it committed.
    protected override IStateStore Open() => _store;
}
