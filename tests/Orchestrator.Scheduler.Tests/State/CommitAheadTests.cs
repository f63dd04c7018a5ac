using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.State;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>
/// RunTask and report groups committed ahead of their flush (group commit): applied at once so the next
/// group can be placed, but answered, started and watched only once durable; a failed flush takes them
/// out of memory again.
/// </summary>
internal sealed class CommitAheadTests
{
    private HeldFlushStore _store = null!;
    private ClusterState _state = null!;
    private RecordingSession _agent = null!;

    // A node with room for two tasks of the family.
    [SetUp]
    public void Build()
    {
        _store = new HeldFlushStore();
        _state = new ClusterState(_store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        _agent = new RecordingSession();
        _state.RegisterAgent(new AgentRegistration("default", "n1", 4096, 2048, new Dictionary<string, string>(), "test"), _agent, []);
        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = "web" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = 1024 });
        _state.RegisterTaskDefinition(definition, new TaskResourceDemand(0, 1024, []));
        _store.Hold = true;
    }

    [TearDown]
    public void Dispose() => _store.Dispose();

    private static RunTaskCommand Command(string token = "") =>
        new("default", "web", 1, [new PlacementStrategy(StrategyKind.BinpackMemory)], [], "", "", token, token.Length > 0 ? "hash" : "");

    private int Starts => _agent.Sent.Count(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask);

    private IReadOnlyList<string> Listed => _state.ListTasks("default", "", "", null, "", "");

    private static List<TaskRecord> Drain(FeedWatch<TaskRecord> watch)
    {
        var events = new List<TaskRecord>();
        while (watch.Reader.TryRead(out var task))
        {
            events.Add(task);
        }

        return events;
    }

    [Test]
    public async Task A_group_is_in_memory_at_once_but_answered_started_and_watched_only_once_durable()
    {
        var (watch, _) = _state.Watch(new TaskWatchFilter("default"), includeExisting: false);
        var pending = _state.RunTasksAsync([Command()]);
        var beforeFlush = (Done: pending.IsCompleted, Listed: Listed.Count, Starts, Events: Drain(watch).Count);
        _store.Release();
        var results = await pending;

        Assert.Multiple(() =>
        {
            Assert.That(beforeFlush, Is.EqualTo((false, 1, 0, 0)), "in memory, but not answered, started or watched while its flush is under way");
            Assert.That(results.Single().Outcome!.Tasks, Has.Count.EqualTo(1));
            Assert.That(Starts, Is.EqualTo(1), "started once durable");
            Assert.That(Drain(watch).Select(t => t.Id), Is.EqualTo(results.Single().Outcome!.Tasks.Select(t => t.Id)), "watched once durable");
        });
    }

    [Test]
    public async Task The_next_group_is_placed_on_what_the_group_being_flushed_took()
    {
        var first = _state.RunTasksAsync([Command()]);
        var second = _state.RunTasksAsync([Command()]);
        var third = _state.RunTasksAsync([Command()]);
        var heldTogether = _store.Held;
        _store.Release();
        var placed = (await Task.WhenAll(first, second, third)).Select(r => r.Single().Outcome!).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(heldTogether, Is.EqualTo(2), "two groups written while neither was durable (the third placed nothing)");
            Assert.That(placed.Select(o => o.Tasks.Count), Is.EqualTo(new[] { 1, 1, 0 }), "the node has room for two: the later groups saw the earlier ones");
            Assert.That(placed[2].Failures.Single().Reason, Is.EqualTo("RESOURCE:MEMORY"));
            Assert.That(Starts, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_failed_flush_fails_every_request_takes_the_group_out_of_memory_and_sends_nothing()
    {
        var (watch, _) = _state.Watch(new TaskWatchFilter("default"), includeExisting: false);
        var run = _state.RunTasksAsync([Command(token: "t1")]);
        var task = Listed.Single();

        // A report of the new task (as if its agent had it) committed ahead too, on top of the first group.
        var report = _state.ApplyReportsAsync([new AgentReport(NodeRecord.KeyOf("default", "n1"), _agent, new TaskStateReport { Sequence = 1, TaskId = task, LastStatus = TaskStatus.Running })]);
        var runningBeforeFlush = _state.DescribeTasks("default", [task]).Single()!.LastStatus;
        _store.FailHeld("Input/output error");
        var results = await run;
        var reportError = Assert.ThrowsAsync<RequestException>(() => report)!;
        var repeated = await _state.RunTasksAsync([Command(token: "t1")]);

        Assert.Multiple(() =>
        {
            Assert.That(runningBeforeFlush, Is.EqualTo(TaskState.Running), "the report was applied ahead of its flush too");
            Assert.That(results.Single().Error?.Message, Does.Contain("whether it was saved is not known").And.Contain("Input/output error"));
            Assert.That(reportError.Kind, Is.EqualTo(RequestErrorKind.Unavailable));
            Assert.That(Listed, Is.Empty, "both groups taken out of memory, newest first");
            Assert.That(Starts, Is.EqualTo(0), "nothing was ever started");
            Assert.That(Drain(watch), Is.Empty, "nor watched");
            Assert.That(repeated.Single().Error?.Message, Does.Contain("restart the scheduler"),
                "the token's receipt went with the group: the repeat is a new request, which the store now refuses");
        });
    }

    [Test]
    public async Task A_repeat_answered_from_a_receipt_being_flushed_waits_for_that_flush()
    {
        var first = _state.RunTasksAsync([Command(token: "t1")]);
        var repeat = _state.RunTasksAsync([Command(token: "t1")]);
        var repeatWaited = !repeat.IsCompleted;
        _store.Release();

        Assert.Multiple(async () =>
        {
            Assert.That(repeatWaited, Is.True, "answered from the receipt only once the receipt is durable");
            Assert.That((await repeat).Single().Outcome!.Tasks.Select(t => t.Id), Is.EqualTo((await first).Single().Outcome!.Tasks.Select(t => t.Id)));
            Assert.That(Starts, Is.EqualTo(1));
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_watch_begun_during_a_flush_gets_the_task_once_as_an_event_once_published(bool includeExisting)
    {
        var pending = _state.RunTasksAsync([Command()]);
        var (watch, existing) = _state.Watch(new TaskWatchFilter("default"), includeExisting);
        var eventsBeforeFlush = Drain(watch).Count;
        _store.Release();
        await pending;

        Assert.Multiple(() =>
        {
            Assert.That(existing, Is.Empty, "what is not durable is not shown as existing");
            Assert.That(eventsBeforeFlush, Is.Zero);
            Assert.That(Drain(watch).Select(t => t.Id), Is.EqualTo(Listed), "one event, once published");
        });
    }

    [Test]
    public async Task A_flush_that_fails_after_an_earlier_one_succeeded_keeps_and_publishes_the_earlier_group()
    {
        var first = _state.RunTasksAsync([Command()]);
        var second = _state.RunTasksAsync([Command()]);

        // The first group's continuation and the second's failure race for the lock: either order must
        // leave the first published and answered, and only the second undone.
        _store.ReleaseOldest();
        _store.FailHeld("Input/output error");
        var results = await Task.WhenAll(first, second);

        Assert.Multiple(() =>
        {
            Assert.That(results[0].Single().Outcome!.Tasks, Has.Count.EqualTo(1), "the durable group is answered");
            Assert.That(results[1].Single().Error?.Kind, Is.EqualTo(RequestErrorKind.Unavailable));
            Assert.That(Listed, Is.EqualTo(results[0].Single().Outcome!.Tasks.Select(t => t.Id)), "only the failed group left memory");
            Assert.That(Starts, Is.EqualTo(1), "the durable group's task was started");
        });
    }

    [Test]
    public async Task An_agent_registering_during_a_flush_is_not_told_of_the_group_until_it_is_published()
    {
        var pending = _state.RunTasksAsync([Command()]);
        var again = new RecordingSession();
        var welcome = _state.RegisterAgent(new AgentRegistration("default", "n1", 4096, 2048, new Dictionary<string, string>(), "test"), again, []);
        var startsBeforeFlush = again.Sent.Count(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask);
        _store.Release();
        await pending;

        Assert.Multiple(() =>
        {
            Assert.That(welcome.Start, Is.Empty, "the welcome holds only what is durable");
            Assert.That(startsBeforeFlush, Is.Zero);
            Assert.That(again.Sent.Count(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask), Is.EqualTo(1), "started once, when published");
        });
    }
    private static readonly ClusterEventFilter AllEvents = new("default", new HashSet<ClusterEventType>());

    private static List<ClusterEventRecord> Drain(FeedWatch<ClusterEventRecord> watch)
    {
        var events = new List<ClusterEventRecord>();
        while (watch.Reader.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }

    /// <summary>A task placed and durable, then a report of it STOPPED committed ahead (held).</summary>
    private async Task<(string Task, Task<SchedulerMessage?[]> Report)> StoppedAheadAsync()
    {
        var run = _state.RunTasksAsync([Command()]);
        _store.Release();
        await run;
        var task = Listed.Single();
        var report = _state.ApplyReportsAsync([new AgentReport(NodeRecord.KeyOf("default", "n1"), _agent,
            new TaskStateReport { Sequence = 1, TaskId = task, LastStatus = TaskStatus.Stopped, StopCode = StopCode.EssentialContainerExited, StoppedReason = "exited" })]);
        return (task, report);
    }

    [Test]
    public async Task A_task_stopped_ahead_of_its_flush_is_watched_once_when_durable_even_from_the_past()
    {
        var live = _state.EventHub.Subscribe(AllEvents, afterVersion: _state.Feed.Version);
        var (task, report) = await StoppedAheadAsync();
        var (fromPast, past) = _state.WatchEvents(AllEvents, sinceSequence: 0, since: null);
        var beforeFlush = Drain(live).Count(e => e.Type == ClusterEventType.TaskStopped) + Drain(fromPast).Count;
        _store.Release();
        await report;

        Assert.Multiple(() =>
        {
            Assert.That(beforeFlush, Is.Zero, "nothing is told before it is durable");
            Assert.That(past.Select(e => e.Type), Has.None.EqualTo(ClusterEventType.TaskStopped), "what is being flushed is not read as past");
            Assert.That(Drain(live).Where(e => e.Type == ClusterEventType.TaskStopped).Select(e => (e.Task, e.StopCode)), Is.EqualTo(new[] { (task, TaskStopCode.EssentialContainerExited) }));
            Assert.That(Drain(fromPast).Select(e => (e.Type, e.Task)), Is.EqualTo(new[] { (ClusterEventType.TaskStopped, task) }), "once, live");
        });
    }

    [Test]
    public async Task A_failed_flush_takes_its_events_out_of_memory_and_tells_no_one()
    {
        var live = _state.EventHub.Subscribe(AllEvents, afterVersion: _state.Feed.Version);
        var (_, report) = await StoppedAheadAsync();
        var listedAhead = _state.ListEvents(AllEvents, null, null).Count(e => e.Type == ClusterEventType.TaskStopped);
        _store.FailHeld("Input/output error");
        Assert.ThrowsAsync<RequestException>(() => report);

        Assert.Multiple(() =>
        {
            Assert.That(listedAhead, Is.EqualTo(1), "in memory ahead of its flush, as the task is");
            Assert.That(_state.ListEvents(AllEvents, null, null).Select(e => e.Type), Has.None.EqualTo(ClusterEventType.TaskStopped));
            Assert.That(Drain(live).Select(e => e.Type), Has.None.EqualTo(ClusterEventType.TaskStopped));
        });
    }
}
