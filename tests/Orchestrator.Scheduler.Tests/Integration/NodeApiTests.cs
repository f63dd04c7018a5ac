using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

internal sealed class NodeApiTests : SchedulerTest
{
    [Test]
    public async Task A_registered_node_shows_its_resources_attributes_and_connection()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", cpu: 2048, memory: 4096, attributes: new Dictionary<string, string> { ["zone"] = "a", ["os"] = "linux" });
        var node = (await Host.Nodes.ListNodesAsync(new ListNodesRequest())).Nodes.Single();
        Assert.Multiple(() =>
        {
            Assert.That(agent.Registered.Node.Name, Is.EqualTo("n1"));
            Assert.That(agent.Registered.HeartbeatIntervalSeconds, Is.EqualTo(5));
            Assert.That((node.Name, node.Status, node.AgentConnected), Is.EqualTo(("n1", NodeStatus.Active, true)));
            Assert.That((node.Registered.Cpu, node.Registered.Memory, node.Remaining.Cpu), Is.EqualTo((2048, 4096, 2048)));
            Assert.That(node.Attributes, Is.EquivalentTo(new Dictionary<string, string> { ["zone"] = "a", ["os"] = "linux" }));
            Assert.That(node.AgentVersion, Is.EqualTo("simulated-1.0"));
        });
    }

    [Test]
    public async Task A_node_whose_stream_closes_is_disconnected_at_once_and_gets_no_tasks()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await agent.DisposeAsync();
        await EventuallyAsync(async () => !(await NodeAsync("n1")).AgentConnected, "the node shows agentConnected=false");
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        Assert.That((run.Failures.Single().Reason, run.Failures.Single().Detail), Is.EqualTo(("NO_ACTIVE_NODES", "1 node: agent disconnected")));
    }

    [Test]
    public async Task A_draining_node_takes_no_new_tasks_until_it_is_active_again()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var drained = (await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "n1", Status = NodeStatus.Draining })).Node;
        var refused = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "n1", Status = NodeStatus.Active });
        var placed = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var draining = await Host.Nodes.ListNodesAsync(new ListNodesRequest { Status = NodeStatus.Draining });
        Assert.Multiple(() =>
        {
            Assert.That(drained.Status, Is.EqualTo(NodeStatus.Draining));
            Assert.That(refused.Failures.Single().Detail, Is.EqualTo("1 node: draining"));
            Assert.That(placed.Tasks.Single().Node, Is.EqualTo("n1"));
            Assert.That(draining.Nodes, Is.Empty);
        });
    }

    [Test]
    public async Task Deregistering_needs_force_while_tasks_run_and_then_ends_the_agents_stream()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];
        await agent.NextCommandAsync();
        var refused = Refused(() => Host.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest { Name = "n1" }).ResponseAsync);
        var node = (await Host.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest { Name = "n1", Force = true })).Node;
        var stop = await agent.NextCommandAsync();
        var goodbye = await agent.NextCommandAsync();
        await agent.WaitForEndAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That((node.Status, node.AgentConnected), Is.EqualTo((NodeStatus.Inactive, false)));
            Assert.That(stop.StopTask.TaskId, Is.EqualTo(task.TaskId));
            Assert.That(goodbye.BodyCase, Is.EqualTo(SchedulerMessage.BodyOneofCase.Deregistered));
            Assert.That(agent.EndStatus?.StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That((await DescribeAsync(task.TaskId)).LastStatus, Is.EqualTo(TaskStatus.Stopped));
        });
        await agent.DisposeAsync();
    }

    [Test]
    public async Task A_node_deregistered_with_running_tasks_stays_inactive_while_its_agent_keeps_trying_until_it_rejoins()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await using var other = await SimulatedAgent.ConnectAsync(Host.Agents, "n2");
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "name == n1" } },
        })).Tasks[0];
        await agent.NextCommandAsync();
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);
        await Host.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest { Name = "n1", Force = true });
        await agent.WaitForEndAsync();
        await agent.DisposeAsync();
        var stopped = await DescribeAsync(task.TaskId);

        // The agent missed the goodbye (as a real one did: its stream broke first) and reconnects, again
        // and again, reporting the task it still runs.
        var attempts = new List<(SchedulerMessage First, bool Ended, Status Status)>();
        for (var i = 0; i < 5; i++)
        {
            attempts.Add(await SimulatedAgent.RegisterRefusedAsync(Host.Agents, "n1", [SimulatedAgent.Report(task.TaskId, TaskStatus.Running)]));
        }

        var node = await NodeAsync("n1");
        var afterwards = await DescribeAsync(task.TaskId);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3 });
        var listed = (await Host.Nodes.ListNodesAsync(new ListNodesRequest())).Nodes.Select(n => n.Name);
        Assert.Multiple(() =>
        {
            foreach (var (first, ended, status) in attempts)
            {
                Assert.That(first.BodyCase, Is.EqualTo(SchedulerMessage.BodyOneofCase.Deregistered), "the answer to each registration");
                Assert.That(first.Deregistered.Reason, Does.Contain("Agent:Rejoin=true"));
                Assert.That((ended, status.StatusCode), Is.EqualTo((true, StatusCode.OK)), "then the stream ends");
            }

            Assert.That((node.Status, node.AgentConnected), Is.EqualTo((NodeStatus.Inactive, false)));
            Assert.That((afterwards.LastStatus, afterwards.StopCode, afterwards.Version), Is.EqualTo((TaskStatus.Stopped, StopCode.NodeLost, stopped.Version)),
                "the reports of the refused agent change nothing");
            Assert.That(run.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n2", "n2", "n2" }), "nothing is placed on the removed node");
            Assert.That(listed, Is.EqualTo(new[] { "n2" }), "ListNodes leaves the INACTIVE node out");
        });

        // A deliberate rejoin brings it back, and the agent is told to stop the task it still runs.
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", running: [SimulatedAgent.Report(task.TaskId, TaskStatus.Running)], rejoin: true);
        var rejoined = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That((rejoined.Status, rejoined.AgentConnected), Is.EqualTo((NodeStatus.Active, true)));
            Assert.That(back.Registered.StopTasks.Select(s => s.TaskId), Is.EqualTo(new[] { task.TaskId }));
            Assert.That(back.Registered.StartTasks, Is.Empty);
        });
    }

    [Test]
    public async Task The_agents_tags_name_the_node_when_it_is_created_and_later_registrations_leave_its_tags_alone()
    {
        await (await SimulatedAgent.ConnectAsync(Host.Agents, "n1", tags: [new Tag { Key = "team", Value = "ops" }])).DisposeAsync();
        await EventuallyAsync(async () => !(await NodeAsync("n1")).AgentConnected, "the first stream is gone");
        var created = await NodeAsync("n1");
        await new TagService.TagServiceClient(Host.Channel).UntagResourceAsync(new UntagResourceRequest { ResourceArn = "node/default/n1", TagKeys = { "team" } });
        await using var again = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", tags: [new Tag { Key = "team", Value = "other" }]);
        var later = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That(created.Tags.Select(t => (t.Key, t.Value)), Is.EqualTo(new[] { ("team", "ops") }));
            Assert.That(later.Tags, Is.Empty, "the operator's untag stands");
        });
    }

    [Test]
    public async Task A_second_stream_for_the_same_node_replaces_the_first()
    {
        await RegisterAsync();
        var old = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await using var fresh = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await old.WaitForEndAsync();
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];
        var start = await fresh.NextCommandAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(start.StartTask.TaskId, Is.EqualTo(task.TaskId));
            Assert.That((await NodeAsync("n1")).AgentConnected, Is.True, "the old stream closing does not disconnect the new one");
        });
        await old.DisposeAsync();
    }

    [Test]
    public async Task A_reconnecting_agent_is_told_every_task_it_should_run_or_stop()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var tasks = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3 })).Tasks;
        foreach (var t in tasks)
        {
            await agent.ReportAsync(t.TaskId, TaskStatus.Running);
        }

        await agent.DisposeAsync();
        await EventuallyAsync(async () => !(await NodeAsync("n1")).AgentConnected, "the node is disconnected");
        var unknown = await DescribeAsync(tasks[0].TaskId);
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = tasks[2].TaskId });

        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", running: tasks.Select(t => SimulatedAgent.Report(t.TaskId, TaskStatus.Running)));
        Assert.Multiple(async () =>
        {
            Assert.That(back.Registered.StartTasks.Select(s => s.TaskId), Is.EquivalentTo(new[] { tasks[0].TaskId, tasks[1].TaskId }));
            Assert.That(back.Registered.StopTasks.Select(s => s.TaskId), Is.EqualTo(new[] { tasks[2].TaskId }));
            Assert.That((unknown.LastStatus, unknown.StatusUnknown), Is.EqualTo((TaskStatus.Running, true)), "while the agent is away");
            var known = await DescribeAsync(tasks[0].TaskId);
            Assert.That((known.LastStatus, known.StatusUnknown), Is.EqualTo((TaskStatus.Running, false)));
        });
    }

    [Test]
    public async Task Heartbeats_are_acknowledged_and_recorded()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        Host.Clock.Advance(TimeSpan.FromSeconds(5));
        await agent.HeartbeatAsync();
        var node = await NodeAsync("n1");
        Assert.That(node.LastHeartbeatAt.ToDateTimeOffset(), Is.EqualTo(Host.Clock.GetUtcNow()));
    }

    [Test]
    public async Task A_node_whose_agent_stops_sending_heartbeats_is_disconnected_after_the_timeout()
    {
        await using var quiet = await SimulatedAgent.ConnectAsync(Host.Agents, "quiet");
        await using var chatty = await SimulatedAgent.ConnectAsync(Host.Agents, "chatty");
        for (var i = 0; i < 4; i++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(5));
            await chatty.HeartbeatAsync();
        }

        await quiet.WaitForEndAsync();
        Assert.Multiple(async () =>
        {
            Assert.That((await NodeAsync("quiet")).AgentConnected, Is.False, "20 s without a heartbeat is past the 15 s timeout");
            Assert.That((await NodeAsync("chatty")).AgentConnected, Is.True);
        });
    }

    [Test]
    public async Task Detection_comes_within_a_quarter_second_of_the_timeout_not_a_whole_monitor_second()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        Host.Clock.Advance(TimeSpan.FromMilliseconds(600));
        await agent.HeartbeatAsync();

        // 15.3 s after the last heartbeat, in steps as real time passes: a monitor that looked once a
        // second (at 15 s, 16 s...) would not have seen it yet; one that looks every 250 ms has.
        for (var step = 0; step < 153; step++)
        {
            Host.Clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        await EventuallyAsync(async () => !(await NodeAsync("n1")).AgentConnected, "the node is disconnected by 15.3 s after its last heartbeat");
    }
}
