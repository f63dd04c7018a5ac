using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// EventService against simulated agents and a fake clock: events in the order their changes were
/// committed, listed and watched (from the past, then live), across a restart, and pruned with the
/// stopped tasks.
/// </summary>
internal sealed class ClusterEventTests : SchedulerTest
{
    private static readonly EventType[] DeploymentTypes =
        [EventType.DeploymentStarted, EventType.DeploymentCompleted, EventType.DeploymentFailed, EventType.DeploymentRolledBack];

    private EventService.EventServiceClient Events => new(Host.Channel);
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    /// <summary>Reconcile passes, one per fake second, each followed by the agents' answers being applied.</summary>
    private async Task PassesAsync(int count, params SimulatedAgent[] settling)
    {
        for (var i = 0; i < count; i++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            foreach (var agent in settling)
            {
                await agent.SettleAsync();
            }
        }
    }

    /// <summary>Every stored event that matches, page by page (a small page, so paging is used).</summary>
    private async Task<List<ClusterEvent>> ListAllAsync(params EventType[] types)
    {
        var all = new List<ClusterEvent>();
        var token = "";
        do
        {
            var page = await Events.ListEventsAsync(new ListEventsRequest { EventTypes = { types }, MaxResults = 3, NextToken = token });
            all.AddRange(page.Events);
            token = page.NextToken;
        }
        while (token.Length > 0);

        return all;
    }

    private async Task<Service> DescribeServiceAsync() =>
        (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();

    [Test]
    public async Task A_deployment_that_fails_and_rolls_back_tells_its_events_in_order_live_and_after_a_restart()
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition(memory: 256));
        // From a time before anything happened, then live: the call may return before the server has
        // subscribed it, and the replay makes up for whatever came in between.
        using var watch = Events.WatchEvents(new WatchEventsRequest { EventTypes = { DeploymentTypes }, Since = Timestamp.FromDateTimeOffset(Host.Clock.GetUtcNow().AddMinutes(-1)) });
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        agent.RunAutomatically(failToStart: start => start.TaskDefinition.TaskDefinitionArn == "web:2");
        var breaker = new DeploymentConfiguration { DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = true, Rollback = true } };
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 2, DeploymentConfiguration = breaker });
        for (var i = 0; i < 20 && (await DescribeServiceAsync()).Deployments[0].RolloutState != "COMPLETED"; i++)
        {
            await PassesAsync(1, agent);
        }

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web:2" });
        for (var i = 0; i < 60 && !((await DescribeServiceAsync()) is { Deployments: [{ TaskDefinition: "web:1", RolloutState: "COMPLETED" }, ..] }); i++)
        {
            await PassesAsync(1, agent);
        }

        var deployments = await ListAllAsync(DeploymentTypes);
        var expected = new[]
        {
            EventType.DeploymentStarted, EventType.DeploymentCompleted, // web:1
            EventType.DeploymentStarted, EventType.DeploymentFailed,    // web:2
            EventType.DeploymentRolledBack, EventType.DeploymentCompleted, // web:1 again
        };
        var watched = new List<ClusterEvent>();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (watched.Count < expected.Length && await watch.ResponseStream.MoveNext(patience.Token))
        {
            watched.Add(watch.ResponseStream.Current);
        }

        var all = await ListAllAsync();
        var service = await DescribeServiceAsync();
        Assert.Multiple(() =>
        {
            Assert.That(deployments.Select(e => e.Type), Is.EqualTo(expected));
            Assert.That(deployments.Select(e => e.Deployment).Distinct().Count(), Is.EqualTo(3), "three deployments: web:1, web:2, the rollback");
            Assert.That(deployments[4].Deployment, Is.EqualTo(service.Deployments[0].Id), "the rollback is the primary now");
            Assert.That(watched, Is.EqualTo(deployments), "the watch saw the same events, in the same order");
            Assert.That(all.Select(e => e.Sequence), Is.Ordered.Ascending.And.Unique);
            Assert.That(all[0].Type, Is.EqualTo(EventType.NodeJoined));
            Assert.That(all.Where(e => e.Type == EventType.ServiceSteadyState).Select(e => e.Deployment), Is.EqualTo(new[] { deployments[0].Deployment, deployments[4].Deployment }));
            var failedToStart = all.Where(e => e.Type == EventType.TaskStopped && e.Deployment == deployments[2].Deployment).ToList();
            Assert.That(failedToStart.Count, Is.InRange(3, 4), "the tasks that tripped the breaker");
            Assert.That(failedToStart.Select(e => (e.StopCode, e.StoppedReason, e.Node)),
                Is.All.EqualTo((StopCode.TaskFailedToStart, "CannotPullContainerError: no such image", "a")));
            var failed = all.Single(e => e.Type == EventType.DeploymentFailed);
            Assert.That(failed.Sequence, Is.GreaterThan(failedToStart.Max(e => e.Sequence)), "the breaker trips after the failures it counts");
            Assert.That(failed.Message, Does.Contain("circuit breaker"));
        });

        await agent.DisposeAsync();
        RestartScheduler();
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        var afterRestart = await ListAllAsync();
        Assert.Multiple(() =>
        {
            Assert.That(afterRestart.Take(all.Count + 1), Is.EqualTo(all.Append(afterRestart[all.Count])), "every event kept, as it was");
            Assert.That(afterRestart.Skip(all.Count).Select(e => e.Type), Has.Some.EqualTo(EventType.NodeJoined), "the agent's return");
            Assert.That(afterRestart.Select(e => e.Sequence), Is.Ordered.Ascending.And.Unique, "sequences go on from the stored ones");
        });
    }

    [Test]
    public async Task A_watch_from_the_past_gets_the_stored_events_then_live_ones_without_gap_or_repeat()
    {
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "a", Status = NodeStatus.Draining });
        var stored = await ListAllAsync();
        Assert.That(stored.Select(e => (e.Type, e.Node)), Is.EqualTo(new[] { (EventType.NodeJoined, "a"), (EventType.NodeJoined, "b"), (EventType.NodeDraining, "a") }));

        using var fromTime = Events.WatchEvents(new WatchEventsRequest { Since = Timestamp.FromDateTimeOffset(Host.Clock.GetUtcNow().AddMinutes(-1)) });
        using var fromSequence = Events.WatchEvents(new WatchEventsRequest { SinceSequence = stored[0].Sequence });
        using var nodeB = Events.WatchEvents(new WatchEventsRequest { SinceSequence = stored[0].Sequence, Node = "b" });
        await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "b", Status = NodeStatus.Draining });
        var live = (await ListAllAsync()).Last();

        async Task<List<ClusterEvent>> Read(AsyncServerStreamingCall<ClusterEvent> call, int count)
        {
            var got = new List<ClusterEvent>();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (got.Count < count && await call.ResponseStream.MoveNext(patience.Token))
            {
                got.Add(call.ResponseStream.Current);
            }

            return got;
        }

        Assert.Multiple(async () =>
        {
            Assert.That(live.Type, Is.EqualTo(EventType.NodeDraining));
            Assert.That(await Read(fromTime, 4), Is.EqualTo(stored.Append(live)));
            Assert.That(await Read(fromSequence, 3), Is.EqualTo(stored.Skip(1).Append(live)));
            Assert.That(await Read(nodeB, 2), Is.EqualTo(new[] { stored[1], live }));
        });
    }

    [Test]
    public async Task A_task_stopped_by_the_user_and_a_lost_node_are_events()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        agent.RunAutomatically();
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2 });
        await agent.SettleAsync();
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = run.Tasks[0].TaskId, Reason = "done with it" });
        await agent.SettleAsync();
        await agent.DisposeAsync();
        await EventuallyAsync(async () => (await ListAllAsync(EventType.NodeDisconnected)).Count == 1, "the agent's leaving is an event");
        Host.Clock.Advance(TimeSpan.FromMinutes(10)); // past the node-lost grace
        await EventuallyAsync(async () => (await ListAllAsync(EventType.NodeLost)).Count == 1, "the node is lost");

        var all = await ListAllAsync();
        Assert.Multiple(() =>
        {
            Assert.That(all.Select(e => (e.Type, e.Task)), Is.EqualTo(new[]
            {
                (EventType.NodeJoined, ""),
                (EventType.TaskStopped, run.Tasks[0].TaskId),
                (EventType.NodeDisconnected, ""),
                (EventType.NodeLost, ""),
                (EventType.TaskStopped, run.Tasks[1].TaskId),
            }));
            Assert.That((all[1].StopCode, all[1].StoppedReason), Is.EqualTo((StopCode.UserInitiated, "done with it")));
            Assert.That(all[4].StopCode, Is.EqualTo(StopCode.NodeLost));
        });
    }

    [Test]
    public async Task Events_are_kept_as_long_as_stopped_tasks_and_then_pruned()
    {
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a"))
        {
            await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "a", Status = NodeStatus.Draining });
        }

        var old = await ListAllAsync();
        Host.Clock.Advance(TimeSpan.FromHours(23));
        Assert.That(await ListAllAsync(), Is.SupersetOf(old), "within the retention (24 h)");

        await using var again = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        var cutoff = Host.Clock.GetUtcNow().AddHours(2) - TimeSpan.FromHours(24);
        Host.Clock.Advance(TimeSpan.FromHours(2));
        await EventuallyAsync(async () => (await ListAllAsync()).All(e => e.Time.ToDateTimeOffset() >= cutoff), "the old events are pruned");
        var kept = await ListAllAsync();
        RestartScheduler();
        Assert.Multiple(async () =>
        {
            Assert.That(old.Select(e => e.Type), Is.SupersetOf(new[] { EventType.NodeJoined, EventType.NodeDraining }));
            Assert.That(kept.Select(e => e.Type), Has.Some.EqualTo(EventType.NodeJoined), "the newer join is kept");
            Assert.That((await ListAllAsync()).Take(kept.Count), Is.EqualTo(kept), "pruned for good: a restart brings none back");
        });
    }

    [TestCase("{\"since\": \"2026-11-29T13:00:00Z\"}", StatusCode.InvalidArgument, "since: 2026-11-29T13:00:00.0000000+00:00 is in the future (now is 2026-11-29T12:00:00.0000000+00:00)")]
    [TestCase("{\"since\": \"2026-11-29T11:00:00Z\", \"sinceSequence\": \"3\"}", StatusCode.InvalidArgument, "since: give sinceSequence or since, not both")]
    [TestCase("{\"sinceSequence\": \"-1\"}", StatusCode.InvalidArgument, "sinceSequence: must be 0 or more, not -1")]
    [TestCase("{\"eventTypes\": [\"EVENT_TYPE_NODE_LOST\", \"EVENT_TYPE_UNSPECIFIED\"]}", StatusCode.InvalidArgument, "eventTypes[1]: EVENT_TYPE_UNSPECIFIED is not an event type to ask for")]
    [TestCase("{\"cluster\": \"nope\"}", StatusCode.NotFound, "cluster: cluster \"nope\" does not exist")]
    public async Task Bad_watches_are_refused_naming_the_field(string json, StatusCode code, string detail)
    {
        using var call = Events.WatchEvents(Google.Protobuf.JsonParser.Default.Parse<WatchEventsRequest>(json));
        var error = Refused(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((code, detail)));
    }

    [TestCase("{\"startTime\": \"2026-11-29T11:00:00Z\", \"endTime\": \"2026-11-29T10:00:00Z\"}", StatusCode.InvalidArgument, "endTime: 2026-11-29T10:00:00.0000000+00:00 is before startTime 2026-11-29T11:00:00.0000000+00:00")]
    [TestCase("{\"maxResults\": 1001}", StatusCode.InvalidArgument, "maxResults: must be between 1 and 1000, not 1001")]
    [TestCase("{\"nextToken\": \"%%%\"}", StatusCode.InvalidArgument, "nextToken: is not a token from a previous page")]
    [TestCase("{\"eventTypes\": [99]}", StatusCode.InvalidArgument, "eventTypes[0]: 99 is not an event type to ask for")]
    public async Task Bad_queries_are_refused_naming_the_field(string json, StatusCode code, string detail)
    {
        var error = Refused(() => Events.ListEventsAsync(Google.Protobuf.JsonParser.Default.Parse<ListEventsRequest>(json)).ResponseAsync);
        Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((code, detail)));
    }
}
