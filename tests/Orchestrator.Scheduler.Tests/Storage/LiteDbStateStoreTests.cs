using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Tests.Domain;

namespace Orchestrator.Scheduler.Tests.Storage;

internal sealed class LiteDbStateStoreTests
{
    private string _directory = "";

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-store-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private string DbPath => Path.Combine(_directory, "state.db");

    [Test]
    public async Task Everything_written_is_read_back_after_reopening_the_file()
    {
        var now = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
        var definition = new TaskDefinitionRecord("web", 3, Active: false, now, now.AddHours(1), [1, 2, 3],
            new TaskResourceDemand(256, 512, [new PortRequest("app", 80, 0, Protocol.Udp)]))
        {
            Tags = new Dictionary<string, string> { ["team"] = "web" },
            DeleteRequestedAt = now.AddHours(2),
        };
        var node = new NodeRecord("prod", "n1", NodeState.Draining, 4096, 8192, new Dictionary<string, string> { ["zone"] = "a" }, "1.0", now)
        {
            CustomAttributes = new Dictionary<string, string> { ["rack"] = "r1", ["gpu"] = "" },
            Tags = new Dictionary<string, string> { ["owner"] = "ops" },
        };
        var task = TaskReportsTests.NewTask(TaskState.Stopped, TaskState.Stopped) with
        {
            StopCode = TaskStopCode.EssentialContainerExited,
            StoppedAt = now,
            Tags = new Dictionary<string, string> { ["job"] = "nightly" },
            ProtectedUntil = now.AddMinutes(30),
        };
        var cluster = new ClusterRecord("prod", now) { Tags = new Dictionary<string, string> { ["env"] = "production" } };
        var receipt = new RunTaskReceipt("prod/token-1", "abc", [task.Id], [new ReceiptFailure("web:3", "RESOURCE:CPU", "1 node: insufficient cpu")], now);

        using (var store = LiteDbStateStore.Open(DbPath))
        {
            var batch = new WriteBatch();
            batch.Clusters.Add(cluster);
            batch.TaskDefinitions.Add(definition);
            batch.Nodes.Add(node);
            batch.Tasks.Add(task);
            batch.Receipts.Add(receipt);
            await store.CommitAsync(batch.ToChangeSet(), 0);
        }

        using var reopened = LiteDbStateStore.Open(DbPath);
        var state = await reopened.LoadAsync();
        Assert.Multiple(() =>
        {
            // Records compare their dictionaries by reference: tags and attributes are compared by content.
            var readCluster = state.Of(StoreTables.Clusters).Single();
            Assert.That(readCluster.Tags, Is.EqualTo(cluster.Tags));
            Assert.That(readCluster with { Tags = cluster.Tags }, Is.EqualTo(cluster));
            var readDefinition = state.Of(StoreTables.TaskDefinitions).Single();
            Assert.That(readDefinition.Tags, Is.EqualTo(definition.Tags));
            Assert.That(readDefinition with { Spec = [], Demand = definition.Demand, Tags = definition.Tags }, Is.EqualTo(definition with { Spec = [] }));
            Assert.That(readDefinition.Spec, Is.EqualTo(definition.Spec));
            Assert.That(readDefinition.Demand.Ports, Is.EqualTo(definition.Demand.Ports));
            Assert.That(readDefinition.Demand.DynamicPortCount, Is.EqualTo(1));
            var readNode = state.Of(StoreTables.Nodes).Single();
            Assert.That(readNode.Attributes, Is.EqualTo(node.Attributes));
            Assert.That(readNode.CustomAttributes, Is.EqualTo(node.CustomAttributes));
            Assert.That(readNode.Tags, Is.EqualTo(node.Tags));
            Assert.That(readNode.SameAs(node), Is.True);
            var readTask = state.Of(StoreTables.Tasks).Single();
            Assert.That(readTask.Containers.Single().Bindings, Is.EqualTo(task.Containers.Single().Bindings));
            Assert.That(readTask.Tags, Is.EqualTo(task.Tags));
            Assert.That(readTask with { Containers = task.Containers, Tags = task.Tags }, Is.EqualTo(task));
            var readReceipt = state.Of(StoreTables.Receipts).Single();
            Assert.That((readReceipt.Key, readReceipt.RequestHash, readReceipt.TaskIds.Single(), readReceipt.Failures.Single()),
                Is.EqualTo((receipt.Key, receipt.RequestHash, task.Id, receipt.Failures[0])));
        });
    }

    [Test]
    public async Task Deletes_are_durable_too()
    {
        var task = TaskReportsTests.NewTask();
        using (var store = LiteDbStateStore.Open(DbPath))
        {
            var put = new WriteBatch();
            put.Tasks.Add(task);
            put.Clusters.Add(new ClusterRecord("gone", DateTimeOffset.UnixEpoch));
            await store.CommitAsync(put.ToChangeSet(), 0);
            var delete = new WriteBatch();
            delete.DeletedTasks.Add(task.Id);
            delete.DeletedClusters.Add("gone");
            await store.CommitAsync(delete.ToChangeSet(), 1);
        }

        using var reopened = LiteDbStateStore.Open(DbPath);
        var state = await reopened.LoadAsync();
        Assert.That((state.Of(StoreTables.Tasks).Count, state.Of(StoreTables.Clusters).Count), Is.EqualTo((0, 0)));
    }

    [Test]
    public void A_file_that_is_not_a_database_is_refused_and_left_untouched()
    {
        var garbage = Enumerable.Range(0, 64 * 1024).Select(i => (byte)(i * 31 % 251)).ToArray();
        File.WriteAllBytes(DbPath, garbage);
        var error = Assert.Throws<StorageException>(() => LiteDbStateStore.Open(DbPath))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.StartWith($"cannot open the state database {DbPath}:"));
            Assert.That(File.ReadAllBytes(DbPath), Is.EqualTo(garbage));
        });
    }

    [Test]
    public void A_path_that_cannot_be_created_is_refused()
    {
        // A path below a regular file cannot be created, not even by root.
        File.WriteAllText(Path.Combine(_directory, "file"), "");
        var error = Assert.Throws<StorageException>(() => LiteDbStateStore.Open(Path.Combine(_directory, "file", "state.db")))!;
        Assert.That(error.Message, Does.StartWith("cannot open the state database"));
    }
}
