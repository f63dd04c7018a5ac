using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.State;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>
/// RunTasks recorded as a group: each placed on what the earlier ones left, one write for all, start
/// commands only once saved, and a refused write leaving nothing behind.
/// </summary>
internal sealed class RunTaskGroupTests
{
    private RecordingStore _store = null!;
    private ClusterState _state = null!;
    private RecordingSession _n1 = null!;
    private RecordingSession _n2 = null!;

    [SetUp]
    public void Build()
    {
        _store = new RecordingStore();
        _state = new ClusterState(_store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        _n1 = new RecordingSession();
        _n2 = new RecordingSession();
        _state.RegisterAgent(new AgentRegistration("default", "n1", 1024, 1024, new Dictionary<string, string>(), "test"), _n1, []);
        _state.RegisterAgent(new AgentRegistration("default", "n2", 1024, 1024, new Dictionary<string, string>(), "test"), _n2, []);
        // One task fills a node's memory: two can only run on two nodes.
        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = "big" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = 1024 });
        _state.RegisterTaskDefinition(definition, new TaskResourceDemand(0, 1024, []));
        _store.Commits.Clear();
    }

    private static RunTaskCommand Command(string definition = "big", string token = "") =>
        new("default", definition, 1, [new PlacementStrategy(StrategyKind.BinpackMemory)], [], "", "", token, token.Length > 0 ? "hash" : "");

    private int StartCommands => _n1.Sent.Concat(_n2.Sent).Count(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask);

    [Test]
    public void Each_request_of_a_group_is_placed_on_what_the_earlier_ones_left_and_all_are_saved_with_one_write()
    {
        var results = _state.RunTasks([Command(), Command(), Command()]);

        Assert.Multiple(() =>
        {
            Assert.That(results[0].Outcome!.Tasks.Single().Node, Is.Not.EqualTo(results[1].Outcome!.Tasks.Single().Node), "the second did not take the first's room");
            Assert.That(results[2].Outcome!.Tasks, Is.Empty, "no room left for a third");
            Assert.That(results[2].Outcome!.Failures.Single().Reason, Is.EqualTo("RESOURCE:MEMORY"));
            Assert.That(_store.Commits, Has.Count.EqualTo(1), "one write");
            Assert.That(_store.Commits[0].Tasks, Has.Count.EqualTo(2));
            Assert.That(StartCommands, Is.EqualTo(2));
        });
    }

    [Test]
    public void A_refused_write_fails_the_whole_group_leaves_no_task_and_sends_nothing()
    {
        _store.Refuse = true;
        var results = _state.RunTasks([Command(), Command(token: "t1")]);
        _store.Refuse = false;
        var after = _state.RunTasks([Command(), Command(), Command(token: "t1")]);

        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => r.Error?.Kind), Is.All.EqualTo(RequestErrorKind.Unavailable));
            Assert.That(results.Select(r => r.Outcome), Is.All.Null);
            Assert.That(StartCommands, Is.EqualTo(2), "only the later group's two tasks were started");
            Assert.That(after.Take(2).Select(r => r.Outcome!.Tasks.Count), Is.EqualTo(new[] { 1, 1 }), "the room the failed group took is free again");
            Assert.That(after[2].Outcome!.Tasks, Is.Empty, "the token was not kept by the failed group: this is a new request, with no room left");
        });
    }

    [Test]
    public void A_request_wrong_on_its_own_fails_alone_and_a_token_repeated_within_the_group_starts_once()
    {
        var results = _state.RunTasks([Command(token: "t2"), Command("nope"), Command(token: "t2")]);

        Assert.Multiple(() =>
        {
            Assert.That(results[1].Error?.Kind, Is.EqualTo(RequestErrorKind.NotFound));
            Assert.That(results[2].Outcome!.Tasks.Select(t => t.Id), Is.EqualTo(results[0].Outcome!.Tasks.Select(t => t.Id)), "the repeat got the first's task");
            Assert.That(_store.Commits.Single().Tasks, Has.Count.EqualTo(1));
            Assert.That(StartCommands, Is.EqualTo(1));
        });
    }
}
