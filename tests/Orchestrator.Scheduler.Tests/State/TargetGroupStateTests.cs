using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Tests.HA;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>Target groups in memory: created and deleted through the commit protocol, loaded at start, followed by a standby.</summary>
internal sealed class TargetGroupStateTests
{
    private static readonly TargetGroupRecord Web = new("web", TargetProtocol.Http, 8080, TargetHealthCheck.Default(TargetProtocol.Http),
        TargetGroupRecord.DefaultDeregistrationDelaySeconds, DateTimeOffset.MinValue);

    private static ClusterState NewState(IStateStore store, ILeadership? role = null) =>
        new(store, new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero)), new TaskEventHub(),
            new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance, leadership: role);

    [Test]
    public void A_created_group_is_read_back_stamped_and_survives_a_restart()
    {
        var store = new InMemoryStateStore();
        var created = NewState(store).CreateTargetGroup(Web);
        var restarted = NewState(store);
        Assert.Multiple(() =>
        {
            Assert.That(created.CreatedAt, Is.EqualTo(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero)));
            Assert.That(restarted.TargetGroupNamed("web"), Is.EqualTo(created));
            Assert.That(restarted.ListTargetGroups(), Is.EqualTo(new[] { created }));
        });
    }

    [Test]
    public void The_same_settings_again_answer_the_existing_group_and_other_settings_or_a_used_port_are_refused()
    {
        var state = NewState(new InMemoryStateStore());
        var first = state.CreateTargetGroup(Web);
        Assert.Multiple(() =>
        {
            Assert.That(state.CreateTargetGroup(Web with { CreatedAt = DateTimeOffset.UnixEpoch }), Is.EqualTo(first));
            var other = Assert.Throws<RequestException>(() => state.CreateTargetGroup(Web with { DeregistrationDelaySeconds = 10 }))!;
            Assert.That((other.Kind, other.Field), Is.EqualTo((RequestErrorKind.AlreadyExists, "name")));
            var port = Assert.Throws<RequestException>(() => state.CreateTargetGroup(Web with { Name = "api" }))!;
            Assert.That((port.Kind, port.Field), Is.EqualTo((RequestErrorKind.AlreadyExists, "port")));
            Assert.That(port.Message, Does.Contain("8080").And.Contain("\"web\""));
            Assert.That(state.ListTargetGroups(), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void Deleting_removes_the_group_and_a_missing_one_is_not_found()
    {
        var store = new InMemoryStateStore();
        var state = NewState(store);
        state.CreateTargetGroup(Web);
        state.DeleteTargetGroup("web");
        Assert.Multiple(() =>
        {
            Assert.That(state.TargetGroupNamed("web"), Is.Null);
            Assert.That(NewState(store).ListTargetGroups(), Is.Empty);
            Assert.That(Assert.Throws<RequestException>(() => state.DeleteTargetGroup("web"))!.Kind, Is.EqualTo(RequestErrorKind.NotFound));
        });
    }

    [Test]
    public void A_standby_follows_the_leaders_target_groups()
    {
        var store = new InMemoryStateStore();
        var leader = NewState(store, new FakeLeadership { IsLeader = true });
        var seen = new List<AppliedChanges>();
        leader.Feed.Subscribe(new Recorder(seen));
        var standby = NewState(store, new FakeLeadership { IsLeader = false });

        leader.CreateTargetGroup(Web);
        leader.CreateTargetGroup(Web with { Name = "api", Port = 8081 });
        leader.DeleteTargetGroup("web");
        foreach (var applied in seen)
        {
            standby.ApplyReplicated(applied.Version, applied.Changes);
        }

        Assert.That(standby.ListTargetGroups(), Is.EqualTo(leader.ListTargetGroups()));
        Assert.That(standby.ListTargetGroups().Select(g => g.Name), Is.EqualTo(new[] { "api" }));
    }

    private sealed class Recorder(List<AppliedChanges> seen) : IChangeSubscriber
    {
        public void OnApplied(AppliedChanges applied) => seen.Add(applied);
    }
}
