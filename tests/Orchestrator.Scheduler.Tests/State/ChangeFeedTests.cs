using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Agents;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Tests.Domain;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;
using StrategyKind = Orchestrator.Scheduler.Placement.StrategyKind;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>
/// The change feed: every commit, once stored and applied, is published with its version, and each
/// subscriber (the watch streams, the agent dispatcher) hears of it once, in order.
/// </summary>
internal sealed class ChangeFeedTests
{
    private sealed class Recorder : IChangeSubscriber
    {
        public List<AppliedChanges> Heard { get; } = [];

        public void OnApplied(AppliedChanges applied) => Heard.Add(applied);
    }

    private static TaskRecord TaskNumbered(int n) => TaskReportsTests.NewTask() with { Id = $"{n:D32}" };

    private static AppliedChanges At(long version, params TaskRecord[] tasks) =>
        new(version, ChangeOrigin.Scheduler, new ChangeSet([.. tasks.Select(StoreTables.Tasks.Put)]), [.. tasks.Select(t => new TaskChange(null, t))]);

    [Test]
    public void Each_subscriber_hears_each_change_set_once_in_version_order()
    {
        var feed = new ChangeFeed();
        var first = new Recorder();
        var second = new Recorder();
        feed.Subscribe(first);
        feed.Subscribe(second);
        var published = new[] { At(1, TaskNumbered(1)), At(2, TaskNumbered(2)), At(7, TaskNumbered(3)) };
        foreach (var applied in published)
        {
            feed.Publish(applied);
        }

        Assert.Multiple(() =>
        {
            Assert.That(first.Heard, Is.EqualTo(published));
            Assert.That(second.Heard, Is.EqualTo(published));
            Assert.That(feed.Version, Is.EqualTo(7));
        });
    }

    [Test]
    public void A_version_that_is_not_after_the_last_is_refused_and_heard_by_nobody()
    {
        var feed = new ChangeFeed();
        feed.StartAt(4);
        var recorder = new Recorder();
        feed.Subscribe(recorder);
        Assert.That(() => feed.Publish(At(4)), Throws.InvalidOperationException, "the version the feed started at");
        feed.Publish(At(5));
        Assert.Multiple(() =>
        {
            Assert.That(() => feed.Publish(At(5)), Throws.InvalidOperationException, "the same version again");
            Assert.That(() => feed.Publish(At(3)), Throws.InvalidOperationException, "an older one");
            Assert.That(recorder.Heard.Select(a => a.Version), Is.EqualTo(new[] { 5L }));
        });
    }

    [Test]
    public void A_subscriber_hears_from_its_subscription_until_it_is_disposed()
    {
        var feed = new ChangeFeed();
        var recorder = new Recorder();
        feed.Publish(At(1));
        var subscription = feed.Subscribe(recorder);
        feed.Publish(At(2));
        subscription.Dispose();
        feed.Publish(At(3));
        Assert.That(recorder.Heard.Select(a => a.Version), Is.EqualTo(new[] { 2L }));
    }

    [Test]
    public void Every_commit_of_the_state_is_published_once_with_the_version_the_store_gave_it_and_replays_into_another_store()
    {
        var store = new InMemoryStateStore();
        var state = new ClusterState(store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        var recorder = new Recorder();
        state.Feed.Subscribe(recorder);

        // A follower: the stored state as it was at the subscription, then every change set heard,
        // shipped as bytes, each at the version before its own.
        var follower = new InMemoryStateStore();
        var atStart = store.LoadAsync().Result;
        follower.CommitAsync(new ChangeSet([.. atStart.AsPuts()]), 0).Wait();

        var agent = new RecordingSession();
        state.RegisterAgent(new AgentRegistration("default", "n1", 4096, 4096, new Dictionary<string, string>(), "test"), agent, []);
        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = "web" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 });
        state.RegisterTaskDefinition(definition, new TaskResourceDemand(0, 64, []));
        var command = new RunTaskCommand("default", "web", 2, [new PlacementStrategy(StrategyKind.SpreadNode)], [], "", "", "", "");
        var placed = state.RunTasks([command, command]).SelectMany(r => r.Outcome!.Tasks).ToList();
        state.StopTask("default", placed[0].Id, "done");
        state.CreateCluster("other");
        foreach (var applied in recorder.Heard)
        {
            follower.CommitAsync(ChangeSet.FromBytes(applied.Changes.ToBytes()), applied.Version - 1).Wait();
        }

        var leader = store.LoadAsync().Result;
        var replayed = follower.LoadAsync().Result;
        var versions = recorder.Heard.Select(a => a.Version).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(atStart.Version, Is.EqualTo(1), "the default cluster, committed before the subscription");
            Assert.That(versions, Is.EqualTo(Enumerable.Range(2, versions.Count).Select(v => (long)v)), "consecutive, from the store's version on");
            Assert.That(versions[^1], Is.EqualTo(leader.Version), "the last is the store's version");
            Assert.That(recorder.Heard.Single(a => a.Tasks.Count == 4).Changes.Puts(StoreTables.Tasks).Select(t => t.Id), Is.EqualTo(placed.Select(t => t.Id)),
                "the RunTask group is one change set");
            Assert.That(replayed.Version, Is.EqualTo(leader.Version));
            Assert.That(Contents(replayed), Is.EquivalentTo(Contents(leader)), "the change sets heard are exactly what the store holds");
            Assert.That(agent.Sent.Select(m => m.BodyCase), Is.EqualTo(Enumerable.Repeat(SchedulerMessage.BodyOneofCase.StartTask, 4).Append(SchedulerMessage.BodyOneofCase.StopTask)),
                "the dispatcher, a subscriber too, sent each command once");
        });
    }

    private static Dictionary<string, string> Contents(StoredState state) =>
        state.AsPuts().ToDictionary(c => $"{c.Table.Name}/{c.Key}", StoreJson.Write);

    [Test]
    public void A_watcher_that_falls_behind_is_cut_off_and_the_others_go_on()
    {
        var feed = new ChangeFeed();
        var hub = new TaskEventHub();
        feed.Subscribe(hub);
        using var slow = hub.Subscribe(new TaskWatchFilter("default"));
        using var reading = hub.Subscribe(new TaskWatchFilter("default"));
        using var elsewhere = hub.Subscribe(new TaskWatchFilter("other"));
        var read = 0;
        for (var n = 1; n <= TaskEventHub.QueueCapacity + 1; n++)
        {
            feed.Publish(At(n, TaskNumbered(n)));
            while (reading.Reader.TryRead(out _))
            {
                read++;
            }
        }

        var slowHad = 0;
        while (slow.Reader.TryRead(out _))
        {
            slowHad++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(slow.Reader.Completion.IsFaulted, Is.True, "the slow watcher's stream ends");
            Assert.That(slow.Reader.Completion.Exception?.InnerException, Is.InstanceOf<WatcherTooSlowException>());
            Assert.That(slowHad, Is.EqualTo(TaskEventHub.QueueCapacity), "it still gets what was queued before the cut");
            Assert.That(read, Is.EqualTo(TaskEventHub.QueueCapacity + 1), "a watcher that reads hears every change");
            Assert.That(reading.Reader.Completion.IsCompleted, Is.False);
            Assert.That(elsewhere.Reader.Completion.IsCompleted, Is.False, "a watcher whose filter matched nothing is not behind");
            Assert.That(hub.WatcherCount, Is.EqualTo(2), "the cut-off watcher is no longer published to");
        });
    }

    [Test]
    public void The_dispatcher_sends_the_commands_of_a_change_set_in_its_order_and_none_for_an_agents_report()
    {
        var session = new RecordingSession();
        var dispatcher = new AgentDispatcher(new OneNode(session));
        var feed = new ChangeFeed();
        feed.Subscribe(dispatcher);
        var running = new[] { TaskNumbered(1), TaskNumbered(2) }.Select(t => t with { LastStatus = TaskState.Running }).ToArray();
        var stopping = running.Select(t => t with { DesiredStatus = TaskState.Stopped, StopCode = TaskStopCode.UserInitiated, Version = t.Version + 1 }).ToArray();
        feed.Publish(new AppliedChanges(1, ChangeOrigin.Scheduler, new ChangeSet([.. stopping.Select(StoreTables.Tasks.Put)]),
            [new TaskChange(running[1], stopping[1]), new TaskChange(running[0], stopping[0])]));
        feed.Publish(new AppliedChanges(2, ChangeOrigin.AgentReport, new ChangeSet([.. running.Select(StoreTables.Tasks.Put)]),
            [.. running.Select(t => new TaskChange(t with { DesiredStatus = TaskState.Stopped }, t))]));

        Assert.That(session.Sent.Select(m => m.StopTask?.TaskId), Is.EqualTo(new[] { running[1].Id, running[0].Id }));
    }

    private sealed class OneNode(IAgentSession session) : IAgentDirectory
    {
        public IAgentSession? SessionOf(string cluster, string node) => session;

        public TaskDefinitionEntry DefinitionOf(TaskRecord task) => throw new AssertionException("a stop needs no task definition");

        public ISecretValues Secrets => throw new AssertionException("a stop needs no secret");
    }
}
