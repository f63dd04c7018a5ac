using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>
/// SIGTERM (systemctl stop) with streams open: the scheduler ends them with a status that says to come
/// back, closes its store and exits 0. How long that takes is a benchmark figure (./build.sh bench stop);
/// here it only has to exit at all within a bound far above it. Cleartext on loopback
/// (Scheduler:Insecure), so that simulated agents register by name; API calls carry the admin token.
/// </summary>
internal sealed class GracefulStopTests
{
    private const string Reconnect = "the scheduler is stopping; reconnect";
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(20);

    private string _directory = "";

    private string DbPath => Path.Combine(_directory, "scheduler.db");

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-stop-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task Sigterm_ends_open_watches_and_agent_streams_with_unavailable_and_exits_0()
    {
        var port = DaemonProcess.FreePort();
        using var channel = SchedulerChannel.ForDaemon(port, _directory, tls: false);
        using var daemon = DaemonProcess.StartScheduler(DbPath, port, "--Scheduler:Insecure=true");
        await daemon.RequireServingAsync(channel);
        await using var agent = await SimulatedAgent.ConnectAsync(new AgentService.AgentServiceClient(channel), "n1");
        await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
        var tasks = new TaskService.TaskServiceClient(channel);
        Assert.That((await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Failures, Is.Empty);

        // The watch has its first event (the existing task), so it is open on the scheduler's side too.
        using var watch = tasks.WatchTasks(new WatchTasksRequest { IncludeExisting = true });
        Assert.That(await watch.ResponseStream.MoveNext(), Is.True);

        daemon.Terminate();
        var exitCode = await daemon.WaitForExitAsync(ExitBound);
        var watchEnd = await EndOf(watch);
        await agent.WaitForEndAsync();

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(0), string.Join("\n", daemon.StandardError));
            Assert.That((watchEnd.StatusCode, watchEnd.Detail), Is.EqualTo((StatusCode.Unavailable, Reconnect)));

            // Ended, not hung. The agent's own half of its stream is still open, so it reads UNAVAILABLE
            // only if it takes the status before Kestrel closes the connection (the scheduler lingers
            // 200 ms for that); a client that is slower sees the connection close. The agent treats
            // both as a lost connection, so only the end is asserted.
            Assert.That(agent.EndStatus?.StatusCode, Is.Not.Null.And.Not.EqualTo(StatusCode.OK), agent.EndStatus?.Detail);

            // LiteDB keeps writes in its -log file until a checkpoint; closing the database checkpoints
            // and deletes it, so its absence says the store was closed, not abandoned.
            Assert.That(File.Exists(DbPath), Is.True);
            Assert.That(File.Exists(Path.Combine(_directory, "scheduler-log.db")), Is.False, "the store was closed");
        });
    }

    [Test]
    public async Task Agents_come_back_after_a_graceful_restart_with_no_task_started_or_stopped_again()
    {
        var port = DaemonProcess.FreePort();
        using var channel = SchedulerChannel.ForDaemon(port, _directory, tls: false);
        var agents = new AgentService.AgentServiceClient(channel);
        var tasks = new TaskService.TaskServiceClient(channel);
        string[] nodes = ["n1", "n2", "n3"];
        List<Contracts.V1.Task> running;
        using (var daemon = DaemonProcess.StartScheduler(DbPath, port, "--Scheduler:Insecure=true"))
        {
            await daemon.RequireServingAsync(channel);
            await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
            var connected = new List<SimulatedAgent>();
            foreach (var node in nodes)
            {
                var agent = await SimulatedAgent.ConnectAsync(agents, node);
                agent.RunAutomatically();
                connected.Add(agent);
            }

            var run = await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 6, PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } } });
            Assert.That(run.Failures, Is.Empty);
            var ids = run.Tasks.Select(t => t.TaskId).ToList();
            await Polling.UntilAsync(async () => (await Describe(tasks, ids)).All(t => t.LastStatus == TaskStatus.Running), "every task runs", TimeSpan.FromSeconds(20));
            running = await Describe(tasks, ids);

            daemon.Terminate();
            Assert.That(await daemon.WaitForExitAsync(ExitBound), Is.EqualTo(0), string.Join("\n", daemon.StandardError));
            foreach (var agent in connected)
            {
                await agent.WaitForEndAsync();
                Assert.That(agent.EndStatus?.StatusCode, Is.Not.Null.And.Not.EqualTo(StatusCode.OK), "ended (see the test above)");
                await agent.DisposeAsync();
            }
        }

        // As the real agent does after a lost connection: register again with what it runs.
        using var restarted = DaemonProcess.StartScheduler(DbPath, port, "--Scheduler:Insecure=true");
        await restarted.RequireServingAsync(channel);
        var back = new List<SimulatedAgent>();
        try
        {
            var newStarts = new List<string>();
            foreach (var node in nodes)
            {
                var mine = running.Where(t => t.Node == node).Select(t => t.TaskId).ToList();
                var agent = await SimulatedAgent.ConnectAsync(agents, node, running: mine.Select(id => SimulatedAgent.Report(id, TaskStatus.Running)));
                back.Add(agent);

                // Registered names every task the node should run; one the agent runs already is nothing to do.
                newStarts.AddRange(agent.Registered.StartTasks.Select(t => t.TaskId).Except(mine));
            }

            foreach (var agent in back)
            {
                // A heartbeat's round trip: whatever the registration caused has been sent by then.
                await agent.HeartbeatAsync();
            }

            var after = await Describe(tasks, running.Select(t => t.TaskId).ToList());
            var listed = await tasks.ListTasksAsync(new ListTasksRequest { IncludeAllStatuses = true });
            Assert.Multiple(() =>
            {
                Assert.That(newStarts, Is.Empty, "nothing to start again");
                Assert.That(back.SelectMany(a => a.Registered.StopTasks), Is.Empty, "nothing to stop");
                Assert.That(back.SelectMany(a => a.Drain()).Where(m => m.BodyCase is SchedulerMessage.BodyOneofCase.StartTask or SchedulerMessage.BodyOneofCase.StopTask), Is.Empty);
                Assert.That(after.Select(t => (t.TaskId, t.Node, t.LastStatus)), Is.EqualTo(running.Select(t => (t.TaskId, t.Node, TaskStatus.Running))));
                Assert.That(listed.TaskIds, Is.EquivalentTo(running.Select(t => t.TaskId)), "no replacement was made");
            });
        }
        finally
        {
            foreach (var agent in back)
            {
                await agent.DisposeAsync();
            }
        }
    }

    private static async Task<List<Contracts.V1.Task>> Describe(TaskService.TaskServiceClient tasks, List<string> ids) =>
        [.. (await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks.OrderBy(t => t.TaskId, StringComparer.Ordinal)];

    private static async Task<Status> EndOf(AsyncServerStreamingCall<TaskEvent> call)
    {
        try
        {
            using var timeout = new CancellationTokenSource(ExitBound);
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
            }

            return call.GetStatus();
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }
}
