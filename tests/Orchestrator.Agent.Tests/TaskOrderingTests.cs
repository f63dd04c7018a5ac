using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using static Orchestrator.Agent.Tests.SupervisorHarness;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

/// <summary>dependsOn and links: when the agent starts each container of a task, and when it gives up.</summary>
internal sealed class TaskOrderingTests
{
    private SupervisorHarness _h = null!;

    [SetUp]
    public void Build() => _h = new SupervisorHarness();

    /// <summary>"first" runs; "second" dependsOn it; the event that meets the condition, after one that does not where there is one.</summary>
    public static IEnumerable<TestCaseData> Conditions()
    {
        yield return new TestCaseData(StartDependency.Complete, false, (Func<SupervisorHarness, Task>)(h => h.HealthAsync("first", ContainerHealth.Starting)), (Func<SupervisorHarness, Task>)(h => h.DieAsync("first", 7)))
            .SetName("COMPLETE: held while first runs, started once it exited (any code)");
        yield return new TestCaseData(StartDependency.Success, false, (Func<SupervisorHarness, Task>)(h => h.HealthAsync("first", ContainerHealth.Starting)), (Func<SupervisorHarness, Task>)(h => h.DieAsync("first", 0)))
            .SetName("SUCCESS: held while first runs, started once it exited 0");
        yield return new TestCaseData(StartDependency.Healthy, true, (Func<SupervisorHarness, Task>)(h => h.HealthAsync("first", ContainerHealth.Unhealthy)), (Func<SupervisorHarness, Task>)(h => h.HealthAsync("first", ContainerHealth.Healthy)))
            .SetName("HEALTHY: held while first is starting or unhealthy, started once it is healthy");
    }

    [TestCaseSource(nameof(Conditions))]
    public async Task A_dependent_container_starts_only_once_its_condition_is_met(string condition, bool healthCheck, Func<SupervisorHarness, Task> notYet, Func<SupervisorHarness, Task> meet)
    {
        var second = Container("second");
        second.DependsOn.Add(On("first", condition));
        await _h.StartAsync(Command(Container("first", essential: false, healthCheck: healthCheck), second));
        var createdUpFront = _h.Runtime.Containers.Count;
        var heldAtLaunch = (_h.HasStarted("second"), _h.Status, _h.LastOf("second").LastStatus);
        await notYet(_h);
        var heldAfter = (_h.HasStarted("second"), _h.Status);

        await meet(_h);

        Assert.Multiple(() =>
        {
            Assert.That(createdUpFront, Is.EqualTo(2), "both created at launch");
            Assert.That(heldAtLaunch, Is.EqualTo((false, TaskStatus.Pending, TaskStatus.Pending)), "second waits, created; the task is PENDING");
            Assert.That(heldAfter, Is.EqualTo((false, TaskStatus.Pending)), "an event that does not meet the condition starts nothing");
            Assert.That(_h.Runtime.StartLog, Is.EqualTo(new[] { "first", "second" }));
            Assert.That(_h.Status, Is.EqualTo(TaskStatus.Running), "every container has started (first has completed by design)");
            Assert.That(_h.LastOf("second").LastStatus, Is.EqualTo(TaskStatus.Running));
        });
    }

    [Test]
    public async Task START_and_links_start_the_dependent_right_after_the_container_it_needs_and_containers_without_dependencies_at_once()
    {
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Start));
        var proxy = Container("proxy");
        proxy.Links.Add("web:backend");
        // Listed before what they need: the order comes from the dependencies, not the list.
        await _h.StartAsync(Command(proxy, web, Container("db"), Container("metrics")));

        var log = _h.Runtime.StartLog;
        Assert.Multiple(() =>
        {
            Assert.That(log, Is.EquivalentTo(new[] { "proxy", "web", "db", "metrics" }));
            Assert.That(log.IndexOf("db"), Is.LessThan(log.IndexOf("web")));
            Assert.That(log.IndexOf("web"), Is.LessThan(log.IndexOf("proxy")), "a link is a START dependency");
            Assert.That(_h.Reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Running }));
        });
    }

    /// <summary>Events that make "second"'s dependency impossible: the task stops, second never starts.</summary>
    public static IEnumerable<TestCaseData> NeverMet()
    {
        yield return new TestCaseData(StartDependency.Success, false, (Func<SupervisorHarness, Task>)(h => h.DieAsync("first", 1)),
            "container \"second\" dependsOn \"first\" SUCCESS: first exited (1)").SetName("SUCCESS, and first exits 1");
        yield return new TestCaseData(StartDependency.Healthy, true, (Func<SupervisorHarness, Task>)(h => h.DieAsync("first", 1)),
            "container \"second\" dependsOn \"first\" HEALTHY: first exited (1) before it was healthy").SetName("HEALTHY, and first exits before it is healthy");
        yield return new TestCaseData(StartDependency.Healthy, false, (Func<SupervisorHarness, Task>)(_ => Task.CompletedTask),
            "container \"second\" dependsOn \"first\" HEALTHY: first has no health check").SetName("HEALTHY on a container without a health check");
    }

    [TestCaseSource(nameof(NeverMet))]
    public async Task A_dependency_that_can_never_be_met_stops_the_task_and_the_dependent_never_starts(string condition, bool healthCheck, Func<SupervisorHarness, Task> happen, string reason)
    {
        var second = Container("second");
        second.DependsOn.Add(On("first", condition));
        await _h.StartAsync(Command(Container("first", essential: false, healthCheck: healthCheck), second));
        await happen(_h);

        Assert.Multiple(() =>
        {
            Assert.That((_h.Status, _h.Last.StopCode, _h.Last.StoppedReason), Is.EqualTo((TaskStatus.Stopped, StopCode.TaskFailedToStart, reason)));
            Assert.That(_h.HasStarted("second"), Is.False);
            Assert.That((_h.LastOf("second").LastStatus, _h.LastOf("second").Reason, _h.LastOf("second").HasExitCode), Is.EqualTo((TaskStatus.Stopped, reason, false)));
            Assert.That(_h.Runtime.Containers.Any(c => c.Running), Is.False, "first was stopped too");
            Assert.That(_h.Reports.Statuses(), Does.Not.Contain(TaskStatus.Running));
        });
    }

    [Test]
    public async Task A_START_dependency_on_a_container_that_exited_before_the_dependent_could_start_stops_the_task()
    {
        var second = Container("second");
        second.DependsOn.Add(On("first", StartDependency.Start));
        second.DependsOn.Add(On("init", StartDependency.Complete));
        await _h.StartAsync(Command(Container("first", essential: false), Container("init", essential: false), second));
        await _h.DieAsync("first", 2);

        Assert.Multiple(() =>
        {
            Assert.That((_h.Last.StopCode, _h.Last.StoppedReason),
                Is.EqualTo((StopCode.TaskFailedToStart, "container \"second\" dependsOn \"first\" START: first exited (2) before second started")));
            Assert.That(_h.HasStarted("second"), Is.False);
        });
    }

    [Test]
    public async Task An_essential_container_that_exits_while_another_waits_on_it_stops_the_task_as_essential_and_says_what_it_blocked()
    {
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(Container("db", healthCheck: true), web));
        await _h.DieAsync("db", 1);

        Assert.Multiple(() =>
        {
            Assert.That(_h.Last.StopCode, Is.EqualTo(StopCode.EssentialContainerExited));
            Assert.That(_h.Last.StoppedReason, Is.EqualTo($"{TaskSupervisor.EssentialExitedReason}: container \"web\" dependsOn \"db\" HEALTHY: db exited (1) before it was healthy"));
            Assert.That(_h.HasStarted("web"), Is.False);
        });
    }

    [Test]
    public async Task Containers_that_wait_for_one_another_stop_the_task_at_once()
    {
        var a = Container("a");
        a.DependsOn.Add(On("b", StartDependency.Start));
        var b = Container("b");
        b.Links.Add("a");
        await _h.StartAsync(Command(a, b, Container("c")));

        Assert.Multiple(() =>
        {
            Assert.That((_h.Last.StopCode, _h.Last.StoppedReason),
                Is.EqualTo((StopCode.TaskFailedToStart, "containers \"a\", \"b\" wait for one another (a dependsOn cycle): none can start")));
            Assert.That(_h.Runtime.StartLog, Is.EqualTo(new[] { "c" }));
        });
    }

    [TestCase(120, 120)]
    [TestCase(0, 300)]
    public async Task A_condition_not_met_within_the_startTimeout_of_the_container_depended_on_stops_the_task(int startTimeout, int seconds)
    {
        var db = Container("db", healthCheck: true);
        db.StartTimeoutSeconds = startTimeout;
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(db, web));
        await _h.HealthAsync("db", ContainerHealth.Unhealthy);

        _h.Clock.Advance(TimeSpan.FromSeconds(seconds - 1));
        var before = _h.Status;
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => _h.Status == TaskStatus.Stopped);

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo(TaskStatus.Pending), "still waiting a second before the timeout");
            Assert.That((_h.Last.StopCode, _h.Last.StoppedReason), Is.EqualTo((StopCode.TaskFailedToStart,
                $"container \"web\" dependsOn \"db\" HEALTHY: not met within {seconds} s of db's start (its startTimeout); db is unhealthy")));
            Assert.That(_h.HasStarted("web"), Is.False);
            Assert.That(_h.Runtime.Containers.Any(c => c.Running), Is.False);
        });
    }

    [Test]
    public async Task A_startTimeout_check_that_fails_while_docker_is_away_is_made_again_later()
    {
        var db = Container("db", healthCheck: true);
        db.StartTimeoutSeconds = 60;
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(db, web));

        _h.Runtime.Down = new RuntimeUnavailableException("Docker is not reachable at fake: Connection refused");
        _h.Clock.Advance(TimeSpan.FromSeconds(60));
        var whileAway = _h.Status;
        _h.Runtime.Down = null;
        _h.Clock.Advance(TaskSupervisor.DependencyRetryDelay);
        await WaitForAsync(() => _h.Status == TaskStatus.Stopped);

        Assert.Multiple(() =>
        {
            Assert.That(whileAway, Is.EqualTo(TaskStatus.Pending), "the stop could not be made while Docker was away");
            Assert.That(_h.Last.StopCode, Is.EqualTo(StopCode.TaskFailedToStart));
            Assert.That(_h.Runtime.Containers.Any(c => c.Running), Is.False);
        });
    }

    [Test]
    public async Task A_condition_met_in_time_leaves_no_timeout_behind()
    {
        var db = Container("db", healthCheck: true);
        db.StartTimeoutSeconds = 60;
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(db, web));
        _h.Clock.Advance(TimeSpan.FromSeconds(30));
        await _h.HealthAsync("db", ContainerHealth.Healthy);
        _h.Clock.Advance(TimeSpan.FromMinutes(10));

        Assert.That((_h.Status, _h.Reports.Statuses().Length), Is.EqualTo((TaskStatus.Running, 3)));
    }

    [Test]
    public async Task Stopping_a_task_while_a_container_waits_never_starts_it_and_reports_it_stopped()
    {
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(Container("db", healthCheck: true), web));

        await _h.Supervisor.StopAsync(TaskId, StopCode.UserInitiated, "bye", CancellationToken.None);
        await _h.Supervisor.OnEventAsync(_h.Runtime.Health(_h.Named("db").Id, ContainerHealth.Healthy), CancellationToken.None);
        _h.Clock.Advance(TimeSpan.FromMinutes(10));

        Assert.Multiple(() =>
        {
            Assert.That(_h.Reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Pending, TaskStatus.Stopping, TaskStatus.Stopped }));
            Assert.That((_h.Last.StopCode, _h.Last.StoppedReason), Is.EqualTo((StopCode.UserInitiated, "bye")));
            Assert.That(_h.HasStarted("web"), Is.False, "not by the health event after the stop, nor by a timeout");
            Assert.That((_h.LastOf("web").LastStatus, _h.LastOf("web").Reason), Is.EqualTo((TaskStatus.Stopped, TaskSupervisor.NeverStartedReason)));
            Assert.That(_h.LastOf("db").ExitCode, Is.EqualTo(143));
            Assert.That(_h.Named("web").StopTimeout, Is.Null, "nothing to stop in a container that never ran");
        });
    }

    [Test]
    public async Task Retention_removes_containers_that_never_started_too()
    {
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(Container("db", healthCheck: true), web));
        await _h.Supervisor.StopAsync(TaskId, StopCode.UserInitiated, "bye", CancellationToken.None);
        _h.Clock.Advance(TimeSpan.FromHours(2));
        await _h.Supervisor.RemoveExpiredAsync(TimeSpan.FromHours(1), CancellationToken.None);
        Assert.That(_h.Runtime.Containers, Is.Empty);
    }

    [Test]
    public async Task A_restarted_agent_continues_the_ordering_once_the_scheduler_sends_the_definition_again()
    {
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        var command = Command(Container("db", healthCheck: true), web);
        await _h.StartAsync(command);

        var restarted = _h.RestartAgent();
        await restarted.AdoptAsync(CancellationToken.None);
        var adopted = restarted.CurrentReports().Single();
        await _h.HealthAsync("db", ContainerHealth.Healthy);
        var beforeReconcile = _h.HasStarted("web");

        var again = command.Clone();
        again.LastStatus = TaskStatus.Pending;
        await restarted.ReconcileAsync(new Registered { StartTasks = { again } }, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That((adopted.LastStatus, adopted.Containers.Single(c => c.Name == "web").LastStatus), Is.EqualTo((TaskStatus.Pending, TaskStatus.Pending)),
                "created, never started: still waiting");
            Assert.That(beforeReconcile, Is.False, "its dependencies are unknown until the scheduler sends the definition");
            Assert.That(_h.Runtime.StartLog, Is.EqualTo(new[] { "db", "web" }), "db was not started again, web was started");
            Assert.That(_h.Status, Is.EqualTo(TaskStatus.Running));
            Assert.That(_h.Runtime.Creates, Is.EqualTo(2), "nothing created again");
        });
    }

    [Test]
    public async Task A_task_whose_agent_died_in_the_middle_of_creating_its_containers_fails_to_start_once_adopted_and_leaves_nothing()
    {
        var command = Command(Container("db"), Container("web"));
        var identity = new AgentIdentity("default", "node-1", "127.0.0.1");
        _h.Runtime.Seed("c-db", ContainerSpecBuilder.Build(command, command.TaskDefinition.ContainerDefinitions[0], identity), running: false);

        var restarted = _h.RestartAgent();
        await restarted.AdoptAsync(CancellationToken.None);
        var again = command.Clone();
        again.LastStatus = TaskStatus.Pending;
        await restarted.ReconcileAsync(new Registered { StartTasks = { again } }, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That((_h.Status, _h.Last.StopCode, _h.Last.StoppedReason), Is.EqualTo((TaskStatus.Stopped, StopCode.TaskFailedToStart,
                "the agent stopped while creating the task's containers; \"web\" never created")));
            Assert.That(_h.Runtime.Starts, Is.Zero, "db was not run without web");
            Assert.That(_h.Runtime.Containers, Is.Empty);
        });
    }

    [Test]
    public async Task A_health_change_lost_with_the_event_stream_is_read_again_when_it_is_back_and_meets_HEALTHY()
    {
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(Container("db", healthCheck: true), web));

        _h.Runtime.Health(_h.Named("db").Id, ContainerHealth.Healthy); // its event lost with the stream
        await _h.Supervisor.ResyncAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_h.HasStarted("web"), Is.True);
            Assert.That((_h.Status, _h.LastOf("db").HealthStatus), Is.EqualTo((TaskStatus.Running, HealthStatus.Healthy)));
        });
    }

    [Test]
    public async Task A_restarted_agent_that_the_scheduler_no_longer_wants_stops_the_waiting_task_without_starting_it()
    {
        var web = Container("web");
        web.DependsOn.Add(On("db", StartDependency.Healthy));
        await _h.StartAsync(Command(Container("db", healthCheck: true), web));

        var restarted = _h.RestartAgent();
        await restarted.AdoptAsync(CancellationToken.None);
        await restarted.ReconcileAsync(new Registered(), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_h.Status, Is.EqualTo(TaskStatus.Stopped));
            Assert.That(_h.HasStarted("web"), Is.False);
            Assert.That(_h.LastOf("web").LastStatus, Is.EqualTo(TaskStatus.Stopped));
        });
    }

    /// <summary>The fake runtime and clock run every continuation inline; this only guards against a hop to the thread pool.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }
}
