using Orchestrator.Contracts.V1;
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
    private TwoNodeState _cluster = null!;

    // One task fills a node's memory: two can only run on two nodes.
    [SetUp]
    public void Build() => _cluster = new TwoNodeState(nodeMemory: 1024, family: "big", taskMemory: 1024);

    private static RunTaskCommand Command(string definition = "big", string token = "") =>
        new("default", definition, 1, [new PlacementStrategy(StrategyKind.BinpackMemory)], [], "", "", token, token.Length > 0 ? "hash" : "");

    private int StartCommands => _cluster.N1.Sent.Concat(_cluster.N2.Sent).Count(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask);

    [Test]
    public void Each_request_of_a_group_is_placed_on_what_the_earlier_ones_left_and_all_are_saved_with_one_write()
    {
        var results = _cluster.State.RunTasks([Command(), Command(), Command()]);

        Assert.Multiple(() =>
        {
            Assert.That(results[0].Outcome!.Tasks.Single().Node, Is.Not.EqualTo(results[1].Outcome!.Tasks.Single().Node), "the second did not take the first's room");
            Assert.That(results[2].Outcome!.Tasks, Is.Empty, "no room left for a third");
            Assert.That(results[2].Outcome!.Failures.Single().Reason, Is.EqualTo("RESOURCE:MEMORY"));
            Assert.That(_cluster.Store.Commits, Has.Count.EqualTo(1), "one write");
            Assert.That(_cluster.Store.Commits[0].Tasks, Has.Count.EqualTo(2));
            Assert.That(StartCommands, Is.EqualTo(2));
        });
    }

    [Test]
    public void A_refused_write_fails_the_whole_group_leaves_no_task_and_sends_nothing()
    {
        _cluster.Store.Refuse = true;
        var results = _cluster.State.RunTasks([Command(), Command(token: "t1")]);
        _cluster.Store.Refuse = false;
        var after = _cluster.State.RunTasks([Command(), Command(), Command(token: "t1")]);

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
        var results = _cluster.State.RunTasks([Command(token: "t2"), Command("nope"), Command(token: "t2")]);

        Assert.Multiple(() =>
        {
            Assert.That(results[1].Error?.Kind, Is.EqualTo(RequestErrorKind.NotFound));
            Assert.That(results[2].Outcome!.Tasks.Select(t => t.Id), Is.EqualTo(results[0].Outcome!.Tasks.Select(t => t.Id)), "the repeat got the first's task");
            Assert.That(_cluster.Store.Commits.Single().Tasks, Has.Count.EqualTo(1));
            Assert.That(StartCommands, Is.EqualTo(1));
        });
    }
}
