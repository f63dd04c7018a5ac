using Grpc.Health.V1;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>
/// One scheduler per data directory: two on one LiteDB file both acknowledged writes and lost one
/// side's (issue 15). The second exits at once and touches nothing; a killed holder leaves no lock.
/// </summary>
internal sealed class OneWriterTests
{
    private string _directory = "";

    private string DbPath => Path.Combine(_directory, "scheduler.db");

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-daemon-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task A_second_scheduler_on_a_held_directory_exits_with_code_2_naming_the_holder_and_changes_nothing()
    {
        var port = DaemonProcess.FreePort();
        using var channel = SchedulerChannel.ForDaemon(port, _directory);
        using var first = DaemonProcess.StartScheduler(DbPath, port);
        await first.RequireServingAsync(channel);
        var definitions = new TaskDefinitionService.TaskDefinitionServiceClient(channel);
        var registered = await definitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
        {
            Family = "held",
            ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 } },
        });
        var before = Contents();

        using var second = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort());
        var exitCode = second.WaitForExit();

        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        var list = await definitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true });
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(second.StandardError, Is.EqualTo(new[]
            {
                $"orchestrator-scheduler: the data directory {_directory} is in use by another scheduler (process {first.Id} holds {Path.Combine(_directory, "scheduler.lock")}); stop it first, or give this one another Scheduler:DataPath",
            }));
            Assert.That(Contents(), Is.EqualTo(before), "no file of the directory was created, written or removed");
            Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving), "the first goes on");
            Assert.That(list.TaskDefinitionArns, Is.EqualTo(new[] { registered.TaskDefinition.TaskDefinitionArn }));
        });
    }

    [Test]
    public async Task The_lock_of_a_killed_scheduler_is_gone_and_the_next_one_starts_on_its_state()
    {
        var port = DaemonProcess.FreePort();
        using var channel = SchedulerChannel.ForDaemon(port, _directory);
        string arn;
        using (var first = DaemonProcess.StartScheduler(DbPath, port))
        {
            await first.RequireServingAsync(channel);
            arn = (await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "survivor",
                ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 } },
            })).TaskDefinition.TaskDefinitionArn;
            first.KillHard();
        }

        using var next = DaemonProcess.StartScheduler(DbPath, port);
        await next.RequireServingAsync(channel);
        var list = await new TaskDefinitionService.TaskDefinitionServiceClient(channel).ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest());
        Assert.Multiple(() =>
        {
            Assert.That(list.TaskDefinitionArns, Is.EqualTo(new[] { arn }));
            Assert.That(ReadLockFile().Trim(), Is.EqualTo(next.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the lock file names its new holder");
        });
    }

    /// <summary>Every file of the directory with its size and last write time (the lock file's text too).</summary>
    private SortedDictionary<string, string> Contents() =>
        new(Directory.EnumerateFiles(_directory).ToDictionary(
            path => Path.GetFileName(path),
            path => $"{new FileInfo(path).Length} {File.GetLastWriteTimeUtc(path):O}"), StringComparer.Ordinal);

    // The holder's exclusive lock refuses .NET's own (shared-locked) reads, so the file is read with cat.
    private string ReadLockFile() => ShellCommand.Run("cat", Path.Combine(_directory, "scheduler.lock")).Output;
}
