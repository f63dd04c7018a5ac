using System.Text;
using System.Text.Json;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.Storage;

/// <summary>A change set goes to bytes and back exactly: the etcd store will ship it so.</summary>
internal sealed class ChangeSetTests
{
    /// <summary>A put of every table and a delete of every table, interleaved, so the order is not the tables' order.</summary>
    private static ChangeSet EveryKindOfChange()
    {
        var puts = StateStoreContract.Everything().ToChangeSet().Changes;
        var changes = new List<Change>();
        foreach (var put in puts.Reverse())
        {
            changes.Add(put);
            changes.Add(new Change(put.Table, put.Key + "-gone", null));
        }

        return new ChangeSet(changes);
    }

    [Test]
    public void To_bytes_and_back_gives_the_same_changes_in_the_same_order_with_equal_records()
    {
        var original = EveryKindOfChange();
        var bytes = original.ToBytes();
        var read = ChangeSet.FromBytes(bytes);

        Assert.Multiple(() =>
        {
            Assert.That(read.Changes.Select(c => (c.Table, c.Key, c.IsDelete)), Is.EqualTo(original.Changes.Select(c => (c.Table, c.Key, c.IsDelete))));
            Assert.That(read.Changes.Select(c => c.Record?.GetType()), Is.EqualTo(original.Changes.Select(c => c.Record?.GetType())), "each record read as its table's type");
            Assert.That(read.Changes.Where(c => !c.IsDelete).Select(StoreJson.Write), Is.EqualTo(original.Changes.Where(c => !c.IsDelete).Select(StoreJson.Write)),
                "each record as the stores write it, so dictionaries compare by content");
            Assert.That(read.ToBytes(), Is.EqualTo(bytes), "and back to the very same bytes");
            Assert.That(original.Changes.Select(c => c.Table).Distinct(), Is.EquivalentTo(StoreTables.All), "every table is in the test");
        });
    }

    [Test]
    public void Records_read_back_equal_the_originals()
    {
        var task = (TaskRecord)StateStoreContract.Everything().ToChangeSet().Changes.Single(c => c.Table == StoreTables.Tasks).Record!;
        var read = ChangeSet.FromBytes(new ChangeSet([StoreTables.Tasks.Put(task)]).ToBytes()).Puts(StoreTables.Tasks).Single();
        Assert.That(read.SecretVersions, Is.EqualTo(task.SecretVersions));
        Assert.That(read with { Containers = task.Containers, Tags = task.Tags, SecretVersions = task.SecretVersions }, Is.EqualTo(task));
    }

    [Test]
    public void An_empty_change_set_goes_to_bytes_and_back()
    {
        var bytes = ChangeSet.Empty.ToBytes();
        Assert.Multiple(() =>
        {
            Assert.That(Encoding.UTF8.GetString(bytes), Is.EqualTo("""{"changes":[]}"""));
            Assert.That(ChangeSet.FromBytes(bytes).IsEmpty, Is.True);
        });
    }

    private static IEnumerable<TestCaseData> Malformed()
    {
        TestCaseData Case(string name, string json) => new TestCaseData(json).SetName(name);
        yield return Case("not JSON", "{");
        yield return Case("no changes array", """{"puts":[]}""");
        yield return Case("an unknown table", """{"changes":[{"table":"nope","key":"a","delete":true}]}""");
        yield return Case("no key", """{"changes":[{"table":"clusters","delete":true}]}""");
        yield return Case("neither put nor delete", """{"changes":[{"table":"clusters","key":"a"}]}""");
        yield return Case("a put under another key", """{"changes":[{"table":"clusters","key":"a","put":{"Name":"b","CreatedAt":"2026-12-03T09:00:00+00:00"}}]}""");
        yield return Case("a put that is not a record", """{"changes":[{"table":"clusters","key":"a","put":null}]}""");
    }

    [TestCaseSource(nameof(Malformed))]
    public void Bytes_that_are_not_a_change_set_are_refused(string json) =>
        Assert.That(() => ChangeSet.FromBytes(Encoding.UTF8.GetBytes(json)), Throws.InstanceOf<JsonException>());

    [Test]
    public void A_put_must_be_its_tables_record_under_its_own_key()
    {
        var cluster = new ClusterRecord("a", DateTimeOffset.UnixEpoch);
        Assert.Multiple(() =>
        {
            Assert.That(() => new ChangeSet([new Change(StoreTables.Clusters, "b", cluster)]), Throws.ArgumentException);
            Assert.That(() => new ChangeSet([new Change(StoreTables.Nodes, "a", cluster)]), Throws.ArgumentException);
        });
    }
}
