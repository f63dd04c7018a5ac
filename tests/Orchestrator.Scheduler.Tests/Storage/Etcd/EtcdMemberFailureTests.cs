using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>
/// An etcd of three loses one member, then has it back: commits go on, and none is lost (a cluster of
/// its own, as this breaks it). The commit in flight as the member dies may get no answer (the member
/// was etcd's leader, or the client's connection to it was in use): the store asks again with the same
/// Txn, whose version compare settles whether the first landed, so no commit's outcome stays unknown.
/// Should one stay unknown all the same, the store is lost and, as the scheduler restarts on that, a
/// new store loads what etcd holds; the test does the same, and fails on it.
/// </summary>
internal sealed class EtcdMemberFailureTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public async Task Commits_go_on_while_one_member_is_killed_and_after_it_is_back(int killed)
    {
        using var cluster = await EtcdCluster.StartAsync(3);
        var options = new EtcdOptions { Endpoints = cluster.Endpoints, Prefix = "/test/failure" };
        using var connection = EtcdClientFactory.Create(options);
        var store = new EtcdStateStore(connection.Client, options);
        var version = 0L;
        var written = new List<string>();
        var unknown = new List<string>();
        async Task CommitAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var name = $"c{written.Count + unknown.Count}";
                try
                {
                    version = await store.CommitAsync(new ChangeSet([StoreTables.Clusters.Put(new ClusterRecord(name, Now))]), version);
                    written.Add(name);
                }
                catch (StorageException lost) when (lost.MayBeSaved && store.Lost.IsCompleted)
                {
                    // What the scheduler does on a lost store: restart, and load what etcd holds.
                    unknown.Add(name);
                    store.Dispose();
                    store = new EtcdStateStore(connection.Client, options);
                    version = (await store.LoadAsync()).Version;
                }
            }
        }

        try
        {
            await CommitAsync(5);
            cluster.Members[killed].Kill();
            await CommitAsync(10);
            await cluster.Members[killed].RestartAsync();
            await CommitAsync(5);
            var state = await store.LoadAsync();
            var names = state.Of(StoreTables.Clusters).Select(c => c.Name).ToList();

            Assert.Multiple(() =>
            {
                Assert.That(unknown, Is.Empty, "the commit in flight as the member died was settled by asking again");
                Assert.That(written, Has.Count.EqualTo(20));
                Assert.That(names, Is.SupersetOf(written), "every commit answered as written is there");
                Assert.That(names.Except(written), Is.SubsetOf(unknown), "and nothing else but the one of unknown outcome, if it landed");
                Assert.That(state.Version, Is.EqualTo(names.Count).And.EqualTo(version));
            });
        }
        finally
        {
            store.Dispose();
        }
    }
}
