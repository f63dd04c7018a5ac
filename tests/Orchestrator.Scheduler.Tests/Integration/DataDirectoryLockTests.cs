using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// The data directory's lock in process: a second host on a held directory does not start, hosts on
/// other directories do, and a host disposed lets the next one on its directory start.
/// </summary>
internal sealed class DataDirectoryLockTests
{
    private readonly List<string> _directories = [];

    [TearDown]
    public void RemoveDirectories()
    {
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private string NewDataPath()
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-it-").FullName;
        _directories.Add(directory);
        return Path.Combine(directory, "scheduler.db");
    }

    [Test]
    public async Task A_held_directory_refuses_a_second_host_until_the_first_is_disposed()
    {
        var path = NewDataPath();
        var first = new SchedulerHost(path);
        _ = first.Server;
        await first.Clusters.CreateClusterAsync(new Contracts.V1.CreateClusterRequest { Name = "kept" });

        using (var second = new SchedulerHost(path))
        {
            // The app's Program prints the refusal and returns 2 before it runs the host; here, asking the
            // host's container for the lock shows the refusal itself.
            _ = second.Server;
            var refusal = Assert.Catch(() => second.Services.GetRequiredService<DataDirectoryLock>())!;
            Assert.That(Messages(refusal), Has.Some.EqualTo(
                $"the data directory {Path.GetDirectoryName(path)} is in use by another scheduler (process {Environment.ProcessId} holds {Path.Combine(Path.GetDirectoryName(path)!, "scheduler.lock")}); stop it first, or give this one another Scheduler:DataPath"));
        }

        using (var elsewhere = new SchedulerHost(NewDataPath()))
        {
            _ = elsewhere.Server;
            Assert.That((await elsewhere.Clusters.ListClustersAsync(new Contracts.V1.ListClustersRequest())).Names, Is.EqualTo(new[] { "default" }), "another directory is another scheduler");
        }

        first.Dispose();
        using var restarted = new SchedulerHost(path);
        _ = restarted.Server;
        var clusters = await restarted.Clusters.ListClustersAsync(new Contracts.V1.ListClustersRequest());
        Assert.That(clusters.Names, Does.Contain("kept"), "the lock went with the first host");
    }

    private static IEnumerable<string> Messages(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e.Message;
        }
    }
}
