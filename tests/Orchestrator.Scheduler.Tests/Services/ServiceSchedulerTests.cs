using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Tests.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Services;

/// <summary>
/// The periodic service pass on a fake clock: it has run when Advance returns, so nothing here waits.
/// A service wants one task and could not place it when it was created; a node has joined since.
/// </summary>
internal sealed class ServiceSchedulerTests
{
    private FakeTimeProvider _clock = null!;
    private RecordingStore _store = null!;
    private RecordingSession _agent = null!;
    private ServiceScheduler _scheduler = null!;

    private int Starts => _agent.Sent.Count(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask);

    [SetUp]
    public async Task StartAsync()
    {
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        _store = new RecordingStore();
        _agent = new RecordingSession();
        var state = new ClusterState(_store, _clock, new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        var definition = new TaskDefinition { Family = "web" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = 128 });
        state.RegisterTaskDefinition(definition, new Orchestrator.Scheduler.Domain.TaskResourceDemand(0, 128, []));
        state.CreateService(new ServiceDefinition("default", "web", "web", 1, [], [], 100, 200, 0, CircuitBreaker: false, Rollback: false, Daemon: false));
        state.RegisterAgent(new AgentRegistration("default", "n1", 4096, 8192, new Dictionary<string, string>(), "test"), _agent, []);
        _scheduler = new ServiceScheduler(state, _clock, new Orchestrator.Scheduler.HA.SoleLeadership(""));
        await _scheduler.StartAsync(CancellationToken.None);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _scheduler.StopAsync(CancellationToken.None);
        _scheduler.Dispose();
    }

    [Test]
    public void A_pass_has_run_once_the_clock_has_advanced_a_second()
    {
        _clock.Advance(TimeSpan.FromMilliseconds(999));
        var early = Starts;
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That((early, Starts), Is.EqualTo((0, 1)));
    }

    [Test]
    public void A_write_the_store_refuses_is_tried_again_on_the_next_tick()
    {
        _store.Refuse = true;
        _clock.Advance(TimeSpan.FromSeconds(1));
        var refused = Starts;
        _store.Refuse = false;
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That((refused, Starts), Is.EqualTo((0, 1)));
    }

    [Test]
    public async Task No_pass_runs_once_the_scheduler_has_stopped()
    {
        await _scheduler.StopAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(Starts, Is.Zero);
    }
}
