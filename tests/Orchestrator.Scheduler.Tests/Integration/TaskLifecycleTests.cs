using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Scheduler.State;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

internal sealed class TaskLifecycleTests : SchedulerTest
{
    [Test]
    public async Task A_task_is_placed_started_reported_running_watched_and_stopped()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: new Dictionary<string, string> { ["zone"] = "a" });
        using var watch = Host.Tasks.WatchTasks(new WatchTasksRequest());
        await WatcherSubscribedAsync();
        var events = new List<TaskEvent>();

        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", StartedBy = "ci" });
        var task = run.Tasks.Single();
        var start = (await agent.NextCommandAsync()).StartTask;
        Assert.Multiple(() =>
        {
            Assert.That(run.Failures, Is.Empty);
            Assert.That((task.Node, task.LastStatus, task.DesiredStatus), Is.EqualTo(("n1", TaskStatus.Provisioning, TaskStatus.Running)));
            Assert.That(task.Group, Is.EqualTo("family:web"));
            Assert.That(start.TaskId, Is.EqualTo(task.TaskId));
            Assert.That(start.TaskDefinition.TaskDefinitionArn, Is.EqualTo("web:1"));
            Assert.That(start.TaskDefinition.ContainerDefinitions[0].Command, Is.EqualTo(new[] { "httpd", "-f", "-p", "80" }));
            Assert.That(start.PortBindings.Single().HostPort, Is.EqualTo(49153), "the first dynamic port of the ECS range");
        });

        await agent.ReportAsync(task.TaskId, TaskStatus.Pending);
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);
        var running = await DescribeAsync(task.TaskId);
        var node = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That(running.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(running.StartedAt, Is.Not.Null);
            Assert.That(running.Containers[0].RuntimeId, Is.EqualTo($"docker-{task.TaskId[..8]}"));
            Assert.That((node.RunningTasks, node.Remaining.Cpu, node.Remaining.Memory), Is.EqualTo((1, 4096 - 256, 8192 - 512)));
            Assert.That(node.PortsInUse.Single().Port, Is.EqualTo(49153));
        });

        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskId, Reason = "done" });
        var stop = (await agent.NextCommandAsync()).StopTask;
        await agent.ReportAsync(task.TaskId, TaskStatus.Stopped, exitCode: 143, stopCode: StopCode.EssentialContainerExited);
        var stopped = await DescribeAsync(task.TaskId);
        var freed = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That((stop.TaskId, stop.StopCode), Is.EqualTo((task.TaskId, StopCode.UserInitiated)));
            Assert.That((stopped.LastStatus, stopped.DesiredStatus), Is.EqualTo((TaskStatus.Stopped, TaskStatus.Stopped)));
            Assert.That((stopped.StopCode, stopped.StoppedReason), Is.EqualTo((StopCode.UserInitiated, "done")));
            Assert.That(stopped.Containers[0].ExitCode, Is.EqualTo(143));
            Assert.That(stopped.StoppedAt, Is.Not.Null);
            Assert.That((freed.RunningTasks, freed.Remaining.Cpu, freed.PortsInUse.Count), Is.EqualTo((0, 4096, 0)));
        });

        // The watch saw every step in order: PROVISIONING, PENDING, RUNNING, (desired STOPPED), STOPPED.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (events.Count < 5 && await watch.ResponseStream.MoveNext(timeout.Token))
        {
            events.Add(watch.ResponseStream.Current);
        }

        Assert.That(events.Select(e => (e.Task.LastStatus, e.Task.DesiredStatus, e.Task.Version)), Is.EqualTo(new[]
        {
            (TaskStatus.Provisioning, TaskStatus.Running, 1L),
            (TaskStatus.Pending, TaskStatus.Running, 2L),
            (TaskStatus.Running, TaskStatus.Running, 3L),
            (TaskStatus.Running, TaskStatus.Stopped, 4L),
            (TaskStatus.Stopped, TaskStatus.Stopped, 5L),
        }));
    }

    private Task WatcherSubscribedAsync()
    {
        var hub = Host.Services.GetRequiredService<TaskEventHub>();
        return EventuallyAsync(() => Task.FromResult(hub.WatcherCount > 0), "the watch is subscribed");
    }

    [Test]
    public async Task Watch_with_existing_sends_current_tasks_first()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var first = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];
        using var watch = Host.Tasks.WatchTasks(new WatchTasksRequest { IncludeExisting = true });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.That(await watch.ResponseStream.MoveNext(timeout.Token));
        var existing = watch.ResponseStream.Current;
        await agent.ReportAsync(first.TaskId, TaskStatus.Running);
        Assert.That(await watch.ResponseStream.MoveNext(timeout.Token));
        var change = watch.ResponseStream.Current;
        Assert.Multiple(() =>
        {
            Assert.That((existing.Existing, existing.Task.TaskId, existing.Task.LastStatus), Is.EqualTo((true, first.TaskId, TaskStatus.Provisioning)));
            Assert.That((change.Existing, change.Task.LastStatus), Is.EqualTo((false, TaskStatus.Running)));
        });
    }

    [Test]
    public async Task An_essential_container_that_exits_stops_the_task_with_its_exit_code()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);
        await agent.ReportAsync(task.TaskId, TaskStatus.Stopped, exitCode: 3, stopCode: StopCode.EssentialContainerExited, reason: "Essential container in task exited");
        var stopped = await DescribeAsync(task.TaskId);
        Assert.That((stopped.StopCode, stopped.StoppedReason, stopped.Containers[0].ExitCode, stopped.DesiredStatus),
            Is.EqualTo((StopCode.EssentialContainerExited, "Essential container in task exited", (int?)3, TaskStatus.Stopped)));
    }

    [Test]
    public async Task A_restart_in_place_reported_by_the_agent_shows_in_DescribeTasks_and_is_watched()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);
        var before = await DescribeAsync(task.TaskId);
        using var watch = Host.Tasks.WatchTasks(new WatchTasksRequest());
        await WatcherSubscribedAsync();

        await agent.ReportAsync(task.TaskId, TaskStatus.Running, restartCount: 1);
        var after = await DescribeAsync(task.TaskId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.That(await watch.ResponseStream.MoveNext(timeout.Token));
        var watched = watch.ResponseStream.Current.Task;
        Assert.Multiple(() =>
        {
            Assert.That(before.Containers[0].RestartCount, Is.Zero);
            Assert.That((after.LastStatus, after.Containers[0].RestartCount, after.Version), Is.EqualTo((TaskStatus.Running, 1, before.Version + 1)));
            Assert.That((watched.Containers[0].RestartCount, watched.Version), Is.EqualTo((1, after.Version)));
        });
    }

    [Test]
    public async Task Tasks_are_listed_by_every_filter()
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition("worker"));
        await using var n1 = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await using var n2 = await SimulatedAgent.ConnectAsync(Host.Agents, "n2");
        var web = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, StartedBy = "alice", PlacementStrategy = { new PlacementStrategy { Type = "spread" } } });
        var worker = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "worker", StartedBy = "bob", PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "name == n2" } } });
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = worker.Tasks[0].TaskId });

        async Task<string[]> List(ListTasksRequest request) => [.. (await Host.Tasks.ListTasksAsync(request)).TaskIds];
        var webIds = web.Tasks.Select(t => t.TaskId).Order(StringComparer.Ordinal).ToArray();
        var onN2 = web.Tasks.Where(t => t.Node == "n2").Select(t => t.TaskId).Append(worker.Tasks[0].TaskId).Order(StringComparer.Ordinal).ToArray();
        Assert.Multiple(async () =>
        {
            Assert.That(web.Tasks.Select(t => t.Node), Is.EquivalentTo(new[] { "n1", "n2" }), "spread puts one on each node");
            Assert.That(worker.Tasks[0].Node, Is.EqualTo("n2"));
            Assert.That(await List(new ListTasksRequest { Family = "web" }), Is.EqualTo(webIds));
            Assert.That(await List(new ListTasksRequest { StartedBy = "bob" }), Is.Empty, "as ECS: without desiredStatus, only what is meant to run");
            Assert.That(await List(new ListTasksRequest { StartedBy = "bob", IncludeAllStatuses = true }), Is.EqualTo(new[] { worker.Tasks[0].TaskId }));
            Assert.That(await List(new ListTasksRequest()), Is.EqualTo(webIds));
            Assert.That(await List(new ListTasksRequest { IncludeAllStatuses = true }), Is.EqualTo(webIds.Append(worker.Tasks[0].TaskId).Order(StringComparer.Ordinal)));
            Assert.That(await List(new ListTasksRequest { DesiredStatus = TaskStatus.Running }), Is.EqualTo(webIds));
            Assert.That(await List(new ListTasksRequest { DesiredStatus = TaskStatus.Stopped }), Is.EqualTo(new[] { worker.Tasks[0].TaskId }));
            Assert.That(await List(new ListTasksRequest { Node = "n2", IncludeAllStatuses = true }), Is.EqualTo(onN2));
            Assert.That(await List(new ListTasksRequest { Node = "n2" }), Is.EqualTo(onN2.Where(id => id != worker.Tasks[0].TaskId)));
            Assert.That(await List(new ListTasksRequest { Service = "none" }), Is.Empty);
        });
    }

    [Test]
    public async Task Tasks_that_do_not_fit_come_back_as_failures_with_reasons()
    {
        await RegisterAsync(WebDefinition(memory: 3000));
        await using var small = await SimulatedAgent.ConnectAsync(Host.Agents, "small", memory: 2048);
        await using var big = await SimulatedAgent.ConnectAsync(Host.Agents, "big", memory: 8192);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 4 });
        Assert.Multiple(() =>
        {
            Assert.That(run.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "big", "big" }));
            Assert.That(run.Failures, Has.Count.EqualTo(2));
            Assert.That(run.Failures[0].Subject, Is.EqualTo("web:1"));
            Assert.That(run.Failures[0].Reason, Is.EqualTo("RESOURCE:MEMORY"));
            Assert.That(run.Failures[0].Detail, Is.EqualTo("2 nodes: insufficient memory (needs 3000 MiB, best has 2192)"));
        });
    }

    [Test]
    public async Task Running_with_no_nodes_fails_with_no_active_nodes()
    {
        await RegisterAsync();
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2 });
        Assert.That(run.Failures.Select(f => (f.Reason, f.Detail)), Is.EqualTo(new[]
        {
            ("NO_ACTIVE_NODES", "no nodes are registered in the cluster"),
            ("NO_ACTIVE_NODES", "no nodes are registered in the cluster"),
        }));
    }

    [Test]
    public async Task A_retry_with_the_same_client_token_starts_nothing_new()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var request = new RunTaskRequest { TaskDefinition = "web", Count = 2, ClientToken = "deploy-42" };
        var first = await Host.Tasks.RunTaskAsync(request);
        await agent.NextCommandAsync();
        await agent.NextCommandAsync();
        var retry = await Host.Tasks.RunTaskAsync(request);
        var other = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3, ClientToken = "deploy-42" }).ResponseAsync);
        var all = await Host.Tasks.ListTasksAsync(new ListTasksRequest());
        await agent.HeartbeatAsync();
        Assert.Multiple(() =>
        {
            Assert.That(retry.Tasks.Select(t => t.TaskId), Is.EqualTo(first.Tasks.Select(t => t.TaskId)));
            Assert.That(all.TaskIds, Has.Count.EqualTo(2));
            Assert.That(agent.Drain().Where(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask), Is.Empty, "no second start command");
            Assert.That((other.StatusCode, other.Status.Detail), Is.EqualTo((StatusCode.AlreadyExists, "clientToken: was already used for a different RunTask request")));
        });
    }

    [Test]
    public async Task A_client_token_whose_request_placed_nothing_can_be_retried_once_a_node_is_back()
    {
        await RegisterAsync();
        var request = new RunTaskRequest { TaskDefinition = "web", Count = 2, ClientToken = "after-restart" };
        var before = await Host.Tasks.RunTaskAsync(request);
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var retry = await Host.Tasks.RunTaskAsync(request);
        var again = await Host.Tasks.RunTaskAsync(request);
        Assert.Multiple(() =>
        {
            Assert.That((before.Tasks.Count, before.Failures.Count), Is.EqualTo((0, 2)), "no node yet: nothing placed");
            Assert.That(retry.Tasks, Has.Count.EqualTo(2), "the retry places");
            Assert.That(again.Tasks.Select(t => t.TaskId), Is.EqualTo(retry.Tasks.Select(t => t.TaskId)), "and is then idempotent");
        });
    }

    [Test]
    public async Task A_report_for_a_task_the_scheduler_does_not_know_is_answered_with_a_stop()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var unknown = new string('e', 32);
        var answers = await agent.ReportAsync(unknown, TaskStatus.Running);
        // Compared whole, so that a failure shows everything that came before the acknowledgement.
        Assert.That(answers.Select(m => $"{m.BodyCase} {m.StopTask?.TaskId}"), Is.EqualTo(new[] { $"StopTask {unknown}" }));
    }

    [Test]
    public async Task Stopped_tasks_are_kept_for_the_retention_and_then_forgotten()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];
        await agent.ReportAsync(task.TaskId, TaskStatus.Stopped, exitCode: 0, stopCode: StopCode.EssentialContainerExited);

        Host.Clock.Advance(TimeSpan.FromHours(23));
        Assert.That((await DescribeAsync(task.TaskId)).LastStatus, Is.EqualTo(TaskStatus.Stopped), "still there within 24 hours");

        Host.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(2));
        await EventuallyAsync(async () => (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { task.TaskId } })).Failures.Count == 1, "the stopped task is pruned");
    }
}
