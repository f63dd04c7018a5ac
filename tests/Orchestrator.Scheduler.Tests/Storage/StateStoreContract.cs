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
    private static WriteBatch Everything()
    {
        var batch = new WriteBatch();
        batch.Clusters.Add(new ClusterRecord("prod", Now) { Tags = new Dictionary<string, string> { ["env"] = "production" } });
        batch.TaskDefinitions.Add(new TaskDefinitionRecord("web", 3, Active: true, Now, null, [1, 2, 3], new TaskResourceDemand(256, 512, [new PortRequest("app", 80, 0, Protocol.Tcp)])));
        batch.Nodes.Add(new NodeRecord("prod", "n1", NodeState.Active, 4096, 8192, new Dictionary<string, string> { ["zone"] = "a" }, "1.0", Now));
        batch.Tasks.Add(TaskReportsTests.NewTask() with { Cluster = "prod" });
        batch.Services.Add(new ServiceRecord
        {
            Cluster = "prod",
            Name = "web",
            DesiredCount = 2,
            Strategies = [],
            Constraints = [],
            Deployments = [],
            CreatedAt = Now,
        });
        batch.Receipts.Add(new RunTaskReceipt("prod/token-1", "abc", ["t1"], [new ReceiptFailure("web:3", "RESOURCE:CPU", "no node")], Now));
        batch.Tokens.Add(new ApiTokenRecord("tok1", "ci", ApiRole.Admin, "hash", Now));
        batch.JoinTokens.Add(new JoinTokenRecord("joinhash", Now));
        batch.NodeIdentities.Add(new NodeIdentityRecord("prod", "n1", "0a1b"));
        return batch;
    }

    /// <summary>Every record the state holds, table by table, as JSON keyed by the table's key.</summary>
    private static Dictionary<string, string> Contents(StoredState state)
    {
        var batch = new WriteBatch();
        batch.Clusters.AddRange(state.Clusters);
        batch.TaskDefinitions.AddRange(state.TaskDefinitions);
        batch.Nodes.AddRange(state.Nodes);
        batch.Tasks.AddRange(state.Tasks);
        batch.Services.AddRange(state.Services);
        batch.Receipts.AddRange(state.Receipts);
        batch.Tokens.AddRange(state.Tokens ?? []);
        if (state.JoinToken is { } join)
        {
            batch.JoinTokens.Add(join);
        }

        batch.NodeIdentities.AddRange(state.NodeIdentities ?? []);
        return Written(batch);
    }

    private static Dictionary<string, string> Written(WriteBatch batch) =>
        batch.Changes().Where(c => !c.IsDelete).ToDictionary(c => $"{c.Table.Name}/{c.Key}", StoreJson.Write);

    [Test]
    public void A_new_store_is_empty_at_version_0()
    {
        using var store = Open();
        var state = store.Load();
        Assert.Multiple(() =>
        {
            Assert.That((state.IsNew, state.Version), Is.EqualTo((true, 0L)));
            Assert.That(Contents(state), Is.Empty);
        });
    }

    [Test]
    public void Load_returns_exactly_what_was_committed_in_every_table_after_a_reopen()
    {
        var store = Open();
        var version = store.Commit(Everything(), 0);
        store = Reopen(store);
        var state = store.Load();
        store.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(version, Is.EqualTo(1));
            Assert.That(state.Version, Is.EqualTo(1));
            Assert.That(Contents(state), Is.EquivalentTo(Written(Everything())));
            Assert.That(Contents(state).Keys.Select(k => k.Split('/')[0]).Distinct(), Is.EquivalentTo(StoreTables.All.Select(t => t.Name)), "one record of every table");
        });
    }

    [Test]
    public void Each_commit_moves_the_version_on_by_one_and_an_empty_one_keeps_it()
    {
        using var store = Open();
        var first = store.Commit(Everything(), 0);
        var empty = store.Commit(new WriteBatch(), first);
        var delete = new WriteBatch();
        delete.DeletedTasks.Add(TaskReportsTests.NewTask().Id);
        var second = store.Commit(delete, empty);
        Assert.That((first, empty, second), Is.EqualTo((1L, 1L, 2L)));
    }

    [Test]
    public void A_commit_at_a_stale_version_is_refused_and_changes_nothing()
    {
        var store = Open();
        store.Commit(Everything(), 0);
        var stale = new WriteBatch();
        stale.DeletedClusters.Add("prod");
        stale.Clusters.Add(new ClusterRecord("other", Now));
        var refused = Assert.Throws<StoreConflictException>(() => store.Commit(stale, 0))!;
        var emptyRefused = Assert.Throws<StoreConflictException>(() => store.Commit(new WriteBatch(), 5));
        store = Reopen(store);
        var state = store.Load();
        store.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That((refused.Expected, refused.Actual), Is.EqualTo((0L, 1L)));
            Assert.That(emptyRefused, Is.Not.Null, "even an empty commit must be at the store's version");
            Assert.That(state.Version, Is.EqualTo(1));
            Assert.That(Contents(state), Is.EquivalentTo(Written(Everything())));
        });
    }

    [Test]
    public void Deletes_remove_exactly_their_keys_and_a_missing_key_is_no_error()
    {
        var store = Open();
        var version = store.Commit(Everything(), 0);
        var delete = new WriteBatch();
        delete.DeletedClusters.Add("prod");
        delete.DeletedNodes.Add(NodeRecord.KeyOf("prod", "n1"));
        delete.DeletedTasks.Add("no-such-task");
        version = store.Commit(delete, version);
        store = Reopen(store);
        var contents = Contents(store.Load());
        store.Dispose();
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
    public void A_put_replaces_the_record_under_its_key()
    {
        var store = Open();
        var version = store.Commit(Everything(), 0);
        var update = new WriteBatch();
        update.Clusters.Add(new ClusterRecord("prod", Now.AddDays(1)));
        store.Commit(update, version);
        store = Reopen(store);
        var clusters = store.Load().Clusters;
        store.Dispose();
        Assert.That(clusters.Select(c => (c.Name, c.CreatedAt)), Is.EqualTo(new[] { ("prod", Now.AddDays(1)) }));
    }
}

internal sealed class LiteDbStoreContractTests : StateStoreContract
{
    private string _directory = "";

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-contract-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

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
