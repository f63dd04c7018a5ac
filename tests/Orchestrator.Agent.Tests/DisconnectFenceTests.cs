using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

/// <summary>
/// Self-fencing (disconnect.stopAfterSeconds) on the fake clock: the lease runs from the send time of
/// the last acknowledged heartbeat, survives an agent restart within one boot, and only tasks that ask
/// for it are stopped, once, when their time has passed.
/// </summary>
internal sealed class DisconnectFenceTests
{
    private const string BootId = "3f1c2a9e-boot";
    private FakeTimeProvider _clock = null!;
    private string _directory = null!;

    [SetUp]
    public void Build()
    {
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero));
        _directory = Directory.CreateTempSubdirectory("orchestrator-lease-").FullName;
    }

    [TearDown]
    public void Clean() => Directory.Delete(_directory, recursive: true);

    private SchedulerLease Lease(string bootId = BootId) => new(_clock, _directory, bootId);

    [Test]
    public void The_lease_runs_from_when_the_acknowledged_heartbeat_was_sent_not_from_when_its_ack_came()
    {
        var lease = Lease();
        lease.Sending(1);
        _clock.Advance(TimeSpan.FromSeconds(3)); // a slow network: the ack takes 3 s
        lease.Acknowledged(1);
        var afterAck = lease.SinceRenewed;

        lease.Sending(2);
        _clock.Advance(TimeSpan.FromSeconds(4));
        var whileUnanswered = lease.SinceRenewed;
        lease.Acknowledged(7); // never sent: changes nothing

        Assert.Multiple(() =>
        {
            Assert.That(afterAck, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(whileUnanswered, Is.EqualTo(TimeSpan.FromSeconds(7)), "an unanswered heartbeat renews nothing");
            Assert.That(lease.SinceRenewed, Is.EqualTo(TimeSpan.FromSeconds(7)));
        });
    }

    [Test]
    public void An_older_ack_never_moves_the_lease_back_and_a_new_session_forgets_unanswered_heartbeats()
    {
        var lease = Lease();
        lease.Sending(1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        lease.Sending(2);
        lease.Acknowledged(2);
        lease.Acknowledged(1); // answered in order or never: 1 was dropped when 2 was acknowledged
        _clock.Advance(TimeSpan.FromSeconds(2));
        var renewed = lease.SinceRenewed;

        lease.Sending(3);
        lease.BeginSession();
        _clock.Advance(TimeSpan.FromSeconds(1));
        lease.Acknowledged(3);

        Assert.Multiple(() =>
        {
            Assert.That(renewed, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(lease.SinceRenewed, Is.EqualTo(TimeSpan.FromSeconds(3)), "a heartbeat of the previous stream does not count");
        });
    }

    [Test]
    public void A_restarted_agent_goes_on_counting_from_the_last_ack_of_this_boot_and_counts_another_boots_as_expired()
    {
        Assert.That(Lease().SinceRenewed, Is.Null, "never renewed");
        var first = Lease();
        first.Renew(_clock.GetTimestamp());
        _clock.Advance(TimeSpan.FromSeconds(12));

        Assert.Multiple(() =>
        {
            Assert.That(Lease().SinceRenewed, Is.EqualTo(TimeSpan.FromSeconds(12)), "the same boot: the clock runs on");
            Assert.That(Lease("another-boot").SinceRenewed, Is.Null, "after a reboot the monotonic clock means nothing");
            Assert.That(new SchedulerLease(_clock, _directory, "").SinceRenewed, Is.Null, "no boot id: nothing is carried over");
        });
    }

    [TestCase(null, 30, true, TestName = "Never renewed: fenced")]
    [TestCase(29.0, 30, false, TestName = "Heard 29 s ago, stopAfter 30 s: runs on")]
    [TestCase(30.0, 30, true, TestName = "Heard 30 s ago, stopAfter 30 s: fenced")]
    [TestCase(3600.0, 0, false, TestName = "No stopAfter: runs on however long")]
    public async Task A_task_is_fenced_only_once_its_stop_after_has_passed(double? sinceSeconds, int stopAfter, bool fenced)
    {
        var runtime = new FakeRuntime();
        var reports = new RecordingSink();
        var supervisor = new TaskSupervisor(runtime, reports, new AgentIdentity("default", "node-1", "127.0.0.1"), _clock, NullLogger<TaskSupervisor>.Instance);
        await supervisor.StartAsync(Command(stopAfter), CancellationToken.None);

        await Task.WhenAll(supervisor.Fence(sinceSeconds is { } s ? TimeSpan.FromSeconds(s) : null, CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(runtime.Containers.Single().Running, Is.EqualTo(!fenced));
            Assert.That(reports.Last.LastStatus, Is.EqualTo(fenced ? TaskStatus.Stopped : TaskStatus.Running));
            if (fenced)
            {
                Assert.That(reports.Last.StopCode, Is.EqualTo(StopCode.NodeLost));
                Assert.That(reports.Last.StoppedReason, Does.Contain("disconnect.stopAfterSeconds = 30"));
            }
        });
    }

    [Test]
    public async Task A_fence_is_set_off_once_and_an_adopted_task_keeps_its_stop_after_from_the_container_label()
    {
        var runtime = new FakeRuntime();
        var reports = new RecordingSink();
        var identity = new AgentIdentity("default", "node-1", "127.0.0.1");
        await new TaskSupervisor(runtime, reports, identity, _clock, NullLogger<TaskSupervisor>.Instance).StartAsync(Command(30), CancellationToken.None);

        // The agent restarts and adopts the running container.
        var restarted = new TaskSupervisor(runtime, reports, identity, _clock, NullLogger<TaskSupervisor>.Instance);
        await restarted.AdoptAsync(CancellationToken.None);
        var early = restarted.Fence(TimeSpan.FromSeconds(10), CancellationToken.None);
        var stops = restarted.Fence(TimeSpan.FromSeconds(31), CancellationToken.None);
        var again = restarted.Fence(TimeSpan.FromSeconds(32), CancellationToken.None);
        await Task.WhenAll(stops);

        Assert.Multiple(() =>
        {
            Assert.That(runtime.Containers.Single().Spec.Labels[ContainerLabels.DisconnectStopAfter], Is.EqualTo("30"));
            Assert.That((early.Count, stops.Count, again.Count), Is.EqualTo((0, 1, 0)));
            Assert.That(runtime.Containers.Single().Running, Is.False);
            Assert.That(runtime.Containers.Single().StopTimeout, Is.EqualTo(TimeSpan.FromSeconds(2)), "the container's own stop timeout");
        });
    }

    private static StartTaskCommand Command(int stopAfter)
    {
        var definition = new TaskDefinition { Family = "db", Revision = 1, TaskDefinitionArn = "db:1" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "db", Image = "busybox", Memory = 64, StopTimeoutSeconds = 2 });
        if (stopAfter > 0)
        {
            definition.Disconnect = new Disconnect { StopAfterSeconds = stopAfter };
        }

        return new StartTaskCommand { TaskId = "fedcba9876543210fedcba9876543210", Cluster = "default", TaskDefinition = definition, Group = "family:db" };
    }
}
