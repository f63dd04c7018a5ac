using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>The etcd test fixture itself: it comes up, loses and regains members, and cleans up.</summary>
internal sealed class EtcdClusterTests
{
    [Test]
    public async Task A_three_member_cluster_stays_healthy_with_one_member_killed_and_takes_it_back()
    {
        string directory;
        using (var cluster = await EtcdCluster.StartAsync(3))
        {
            directory = Path.GetDirectoryName(cluster.Members[0].DataDirectory)!;
            var endpoints = cluster.Endpoints.Split(',');
            cluster.Members[0].Kill();
            // Where the killed member led, the other two elect a new leader within an election timeout or so.
            await Polling.UntilAsync(() => cluster.Members[1].IsHealthyAsync(), "two of three members elect a leader", TimeSpan.FromSeconds(20));
            await cluster.Members[0].RestartAsync();
            Assert.Multiple(() =>
            {
                Assert.That(endpoints, Has.Length.EqualTo(3).And.All.StartWith("http://127.0.0.1:"));
                Assert.That(cluster.Members.Select(m => m.IsRunning), Is.All.True);
            });
        }

        Assert.That(Directory.Exists(directory), Is.False, "Dispose removes the data directories");
    }
}
