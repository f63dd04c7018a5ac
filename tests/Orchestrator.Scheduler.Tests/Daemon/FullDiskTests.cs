using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>
/// The scheduler process with its database on a small tmpfs that the test fills up: writes fail with
/// a clear status, nothing acknowledged is lost (also across a kill -9), reads go on, and writes work
/// again once there is room.
/// </summary>
internal sealed class FullDiskTests
{
    private string _mount = "";

    [SetUp]
    public void MountSmallFileSystem()
    {
        _mount = Directory.CreateTempSubdirectory("orchestrator-full-").FullName;
        var (code, output) = ShellCommand.Run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", _mount);
        if (code != 0)
        {
            Directory.Delete(_mount);
            Assert.Ignore($"cannot mount a 2 MiB tmpfs here ({output}); this test needs root");
        }
    }

    [TearDown]
    public void Unmount()
    {
        ShellCommand.Run("umount", _mount);
        Directory.Delete(_mount, recursive: true);
    }

    [Test]
    public async Task A_full_disk_fails_writes_clearly_loses_nothing_acknowledged_and_recovers_when_there_is_room()
    {
        var dbPath = Path.Combine(_mount, "scheduler.db");
        var port = DaemonProcess.FreePort();
        using var channel = SchedulerChannel.ForDaemon(port, _mount);
        var definitions = new TaskDefinitionService.TaskDefinitionServiceClient(channel);
        var acknowledged = new List<string>();
        RpcException? refused = null;
        var filler = Path.Combine(_mount, "filler");

        using (var daemon = DaemonProcess.StartScheduler(dbPath, port))
        {
            Assert.That(await daemon.WaitUntilServingAsync(channel), Is.True, string.Join("\n", daemon.StandardError));
            FillUp(filler);

            // Each registration carries 8 KiB, so the disk's last free pages go within a few calls.
            for (var i = 0; i < 200 && refused is null; i++)
            {
                try
                {
                    var reply = await definitions.RegisterTaskDefinitionAsync(Definition($"f{i % 7}"));
                    acknowledged.Add(reply.TaskDefinition.TaskDefinitionArn);
                }
                catch (RpcException e)
                {
                    refused = e;
                }
            }

            Assert.That(refused, Is.Not.Null, "a write failed once the disk was full");
            var listedWhileFull = await ListAsync(definitions);
            var healthWhileFull = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());

            File.Delete(filler);
            var afterRoom = await definitions.RegisterTaskDefinitionAsync(Definition("after"));
            acknowledged.Add(afterRoom.TaskDefinition.TaskDefinitionArn);
            Assert.Multiple(() =>
            {
                Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
                Assert.That(refused.Status.Detail, Does.StartWith("the change was not saved, nothing was applied: ").And.Contain("No space left on device"));
                Assert.That(listedWhileFull, Is.EquivalentTo(acknowledged.SkipLast(1)), "reads go on while full; the refused write is not there");
                Assert.That(healthWhileFull.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
            });

            daemon.KillHard();
        }

        using var restarted = DaemonProcess.StartScheduler(dbPath, port);
        Assert.That(await restarted.WaitUntilServingAsync(channel), Is.True, string.Join("\n", restarted.StandardError));
        Assert.That(await ListAsync(definitions), Is.EquivalentTo(acknowledged), "after kill -9 and a restart: every acknowledged write, and only those");
    }

    private static RegisterTaskDefinitionRequest Definition(string family) => new()
    {
        Family = family,
        ContainerDefinitions =
        {
            new ContainerDefinition
            {
                Name = "app", Image = "busybox", Memory = 64,
                Environment = { new EnvironmentVariable { Name = "PAYLOAD", Value = new string('x', 8192) } },
            },
        },
    };

    private static async Task<List<string>> ListAsync(TaskDefinitionService.TaskDefinitionServiceClient client) =>
        [.. (await client.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { MaxResults = 1000 })).TaskDefinitionArns];

    /// <summary>Writes a file until the file system has no room left.</summary>
    private static void FillUp(string path)
    {
        using var file = File.OpenWrite(path);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush();
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }
}
