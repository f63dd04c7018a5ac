using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Tests.HA;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;
using StrategyKind = Orchestrator.Scheduler.Placement.StrategyKind;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>
/// A standby's memory follows the leader's commits as the store's watch would deliver them (here: the
/// leader's change feed, which publishes exactly what it committed), refuses every write, and takes
/// over at the store's version without loading anything.
/// </summary>
internal sealed class StandbyStateTests
{
    private InMemoryStateStore _store = null!;
    private ClusterState _leader = null!;
    private FakeLeadership _standbyRole = null!;
    private ClusterState _standby = null!;
    private CommitRecorder _commits = null!;

    [SetUp]
    public void LeaderAndStandbyOnOneStore()
    {
        _store = new InMemoryStateStore();
        _leader = NewState(new FakeLeadership { IsLeader = true });
        _commits = new CommitRecorder();
        _leader.Feed.Subscribe(_commits);
        _standbyRole = new FakeLeadership { IsLeader = false, NotLeaderReason = "standby: the leader is at 10.0.0.1:7400" };
        _standby = NewState(_standbyRole);
    }

    private ClusterState NewState(ILeadership role) =>
        new(_store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance, leadership: role);

    private void LeaderWrites()
    {
        _leader.RegisterAgent(new AgentRegistration("default", "n1", 4096, 4096, new Dictionary<string, string>(), "test"), new RecordingSession(), []);
        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = "web" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 });
        _leader.RegisterTaskDefinition(definition, new TaskResourceDemand(0, 64, []));
        var tasks = _leader.RunTask(new RunTaskCommand("default", "web", 3, [new PlacementStrategy(StrategyKind.BinpackMemory)], [], "", "", "tok", "h")).Tasks;
        _leader.StopTask("default", tasks[0].Id, "test");
    }

    private static string Picture(ClusterState state) => JsonSerializer.Serialize(new
    {
        Clusters = state.ClusterNames(),
        Tasks = state.DescribeTasks("default", state.ListTasks("default", "", "", null, "", "")),
        Node = state.DescribeNode("default", "n1") is { } node ? new { node.Record.Status, node.UsedCpu, node.UsedMemory, node.RunningTasks, node.PendingTasks } : null,
        state.Version,
    }, StoreJson.Options);

    [Test]
    public void A_standby_that_applies_the_leaders_commits_answers_as_the_leader_does()
    {
        LeaderWrites();

        foreach (var (version, changes) in _commits.Seen)
        {
            _standby.ApplyReplicated(version, changes);
        }

        Assert.That(Picture(_standby), Is.EqualTo(Picture(_leader)));
    }

    [Test]
    public void A_commit_seen_twice_is_applied_once_and_a_missing_one_is_refused()
    {
        LeaderWrites();
        var (firstVersion, first) = _commits.Seen[0];
        _standby.ApplyReplicated(firstVersion, first);
        _standby.ApplyReplicated(firstVersion, first);

        var (thirdVersion, third) = _commits.Seen[2];
        var error = Assert.Throws<InvalidOperationException>(() => _standby.ApplyReplicated(thirdVersion, third))!;
        Assert.That(error.Message, Does.Contain("missed"));
        Assert.That(_standby.Version, Is.EqualTo(firstVersion));
    }

    [Test]
    public void A_standby_refuses_every_write_saying_why_and_changes_nothing()
    {
        var before = Picture(_standby);

        var error = Assert.Throws<RequestException>(() => _standby.CreateCluster("prod", null))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Kind, Is.EqualTo(RequestErrorKind.Unavailable));
            Assert.That(error.Message, Does.Contain("standby: the leader is at 10.0.0.1:7400"));
            Assert.That(Picture(_standby), Is.EqualTo(before));
        });
    }

    [Test]
    public void A_standby_that_takes_over_writes_at_the_stores_version()
    {
        LeaderWrites();
        foreach (var (version, changes) in _commits.Seen)
        {
            _standby.ApplyReplicated(version, changes);
        }

        _standbyRole.IsLeader = true;
        _standby.TakeOver();
        _standby.CreateCluster("prod", null);

        Assert.That(_store.LoadAsync().Result.Of(StoreTables.Clusters).Select(c => c.Name), Does.Contain("prod"));
    }

    [Test]
    public void On_a_new_store_only_the_first_leader_makes_the_default_cluster_as_it_takes_over()
    {
        _store = new InMemoryStateStore();
        var role = new FakeLeadership { IsLeader = false };
        var state = NewState(role);
        Assert.That(state.ClusterNames(), Is.Empty, "a standby writes nothing");

        role.IsLeader = true;
        state.TakeOver();

        Assert.That(_store.LoadAsync().Result.Of(StoreTables.Clusters).Select(c => c.Name), Is.EqualTo(new[] { ClusterRecord.DefaultName }));
    }

    private sealed class CommitRecorder : IChangeSubscriber
    {
        public List<(long Version, ChangeSet Changes)> Seen { get; } = [];

        public void OnApplied(AppliedChanges applied) => Seen.Add((applied.Version, applied.Changes));
    }
}
