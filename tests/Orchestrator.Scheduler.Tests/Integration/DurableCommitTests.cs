using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Storage;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Commits are flushed to disk before the caller is answered: the scheduler's real flush (fdatasync on
/// LiteDB's log file), counted by a wrapper, against the calls it acknowledged.
/// </summary>
internal sealed class DurableCommitTests : SchedulerTest
{
    private sealed class RecordingFlush : ICommitFlush
    {
        private readonly FsyncCommitFlush _real = new();
        private int _count;

        public int Count => Volatile.Read(ref _count);
        public List<bool> LogExisted { get; } = [];
        public int FailNext { get; set; }

        public void AfterCommit(string databasePath)
        {
            lock (LogExisted)
            {
                LogExisted.Add(File.Exists(FsyncCommitFlush.LogPathOf(databasePath)));
            }

            if (FailNext > 0)
            {
                FailNext--;
                throw new IOException("Input/output error");
            }

            _real.AfterCommit(databasePath);
            Interlocked.Increment(ref _count);
        }
    }

    private RecordingFlush _flush = null!;

    [SetUp]
    public void RecordFlushes()
    {
        _flush = new RecordingFlush();
        UseHost(path => new SchedulerHost(path) { ReplaceServices = services => services.AddSingleton<ICommitFlush>(_flush) });
    }

    [Test]
    public async Task Every_acknowledged_RunTask_was_flushed_to_disk_before_its_answer_came()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var flushedBefore = new List<(int Before, int After)>();
        for (var i = 0; i < 10; i++)
        {
            var before = _flush.Count;
            await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
            flushedBefore.Add((before, _flush.Count));
        }

        Assert.Multiple(() =>
        {
            Assert.That(flushedBefore.Where(f => f.After <= f.Before), Is.Empty, "each answer came after a flush of its commit");
            Assert.That(_flush.LogExisted, Is.All.True, "the flushed file is the log LiteDB wrote the commit to");
        });
    }

    [Test]
    public async Task A_flush_the_disk_refuses_fails_the_call_saying_the_outcome_is_unknown_applies_nothing_and_stops_the_scheduler()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        _flush.FailNext = 1;
        var refused = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }).ResponseAsync);
        var listed = await Host.Tasks.ListTasksAsync(new ListTasksRequest());

        // What the disk holds is unknown after a failed flush: the scheduler stops itself (exit code 4,
        // so that systemd starts it again) rather than run on with memory and disk apart.
        var lifetime = Host.Services.GetRequiredService<IHostApplicationLifetime>();
        await Orchestrator.Tests.Shared.Polling.UntilAsync(() => Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested), "the scheduler stops itself", TimeSpan.FromSeconds(10));
        var exitCode = Host.Services.GetRequiredService<Orchestrator.Scheduler.Hosting.SchedulerExit>().Code;
        await agent.DisposeAsync();
        RestartScheduler();
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var afterRestart = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(refused.Status.Detail, Does.Contain("whether it was saved is not known").And.Contain("Input/output error"));
            Assert.That(listed.TaskIds, Is.Empty, "nothing of the refused call is in memory");
            Assert.That(exitCode, Is.EqualTo(4));
            Assert.That(afterRestart.Tasks, Has.Count.EqualTo(1), "after a restart writes go through again");
        });
    }
}
