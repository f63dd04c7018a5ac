using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Services;

namespace Orchestrator.Scheduler.Tests.Services;

/// <summary>
/// The policy of a service pass, pass by pass, with no state and no clock: failure counting, backoff,
/// the circuit breaker, rollout completion, deletion and daemon targeting.
/// </summary>
internal sealed class ServiceControllerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Earlier = Now.AddHours(-1);
    private const string Primary = "new";
    private const string Previous = "old";
    private static int _ids;

    /// <summary>A REPLICA service rolling out web:2 (deployment "new") over web:1 (deployment "old").</summary>
    private static ServiceRecord Service(
        int desired = 2, bool breaker = false, bool rollback = false, int consecutive = 0, DateTimeOffset? nextStartAt = null,
        int failedTasks = 0, bool previousCompleted = true, bool deleting = false) => new()
    {
        Cluster = "default",
        Name = "web",
        DesiredCount = desired,
        Strategies = [],
        Constraints = [],
        CircuitBreaker = breaker,
        Rollback = rollback,
        ConsecutiveFailures = consecutive,
        NextStartAt = nextStartAt,
        Deleting = deleting,
        Deployments =
        [
            new(Primary, "web:2", DeploymentStatus.Primary, RolloutState.InProgress, "deployment in progress", failedTasks, Earlier, Earlier),
            new(Previous, "web:1", DeploymentStatus.Active, previousCompleted ? RolloutState.Completed : RolloutState.InProgress, "", 0, Earlier, Earlier),
        ],
        CreatedAt = Earlier,
    };

    private static ServiceRecord Daemon() => Service(desired: 0) with
    {
        Daemon = true,
        MinimumHealthyPercent = 0,
        MaximumPercent = 100,
        Deployments = [new(Primary, "web:2", DeploymentStatus.Primary, RolloutState.InProgress, "deployment in progress", 0, Earlier, Earlier)],
    };

    private static TaskRecord Task(
        string deployment = Primary, TaskState last = TaskState.Running, TaskState desired = TaskState.Running, TaskStopCode stopCode = TaskStopCode.None,
        bool counted = false, DateTimeOffset? startedAt = null, HealthState health = HealthState.Unknown, string node = "a") => new()
    {
        Id = $"{++_ids:D32}",
        Cluster = "default",
        TaskDefinitionArn = deployment == Primary ? "web:2" : "web:1",
        Family = "web",
        Revision = deployment == Primary ? 2 : 1,
        Node = node,
        LastStatus = last,
        DesiredStatus = last == TaskState.Stopped ? TaskState.Stopped : desired,
        Containers = [],
        Group = "service:web",
        Service = "web",
        Deployment = deployment,
        FailureCounted = counted,
        Cpu = 1,
        Memory = 1,
        CreatedAt = Earlier,
        StartedAt = last == TaskState.Running ? startedAt ?? Earlier : startedAt,
        StopCode = stopCode,
        StoppedReason = stopCode == TaskStopCode.None ? "" : "Essential container in task exited",
        Health = health,
    };

    private static TaskRecord Failed(string deployment = Primary, TaskStopCode code = TaskStopCode.EssentialContainerExited) =>
        Task(deployment, TaskState.Stopped, stopCode: code);

    /// <summary>Decides with the live views the state would build: healthy when RUNNING and not UNHEALTHY (no health check).</summary>
    private static ServiceDecision Decide(ServiceRecord service, IEnumerable<TaskRecord> tasks, DaemonTargets? daemon = null, DateTimeOffset? at = null)
    {
        var all = tasks.ToList();
        var live = all.Where(ServiceController.IsLive)
            .Select(t => new ServiceTaskView(t, OnDrainingNode: false, Healthy: t.LastStatus == TaskState.Running && t.Health != HealthState.Unhealthy))
            .ToList();
        return ServiceController.Decide(service, all, live, daemon, at ?? Now);
    }

    private static IEnumerable<TestCaseData> Failures()
    {
        // (tasks) → (failed tasks on the primary deployment, on the previous one, tasks marked counted, failures in a row)
        yield return new TestCaseData((object)new[] { Failed(code: TaskStopCode.TaskFailedToStart) }).Returns((1, 0, 1, 1)).SetName("a task that failed to start counts");
        yield return new TestCaseData((object)new[] { Failed(code: TaskStopCode.EssentialContainerExited) }).Returns((1, 0, 1, 1)).SetName("a task whose essential container exited counts");
        yield return new TestCaseData((object)new[] { Failed(code: TaskStopCode.UserInitiated), Failed(code: TaskStopCode.ServiceSchedulerInitiated), Failed(code: TaskStopCode.NodeLost) })
            .Returns((0, 0, 0, 0)).SetName("tasks stopped by a user, the scheduler or a lost node do not count");
        yield return new TestCaseData((object)new[] { Task(Primary, TaskState.Stopped, stopCode: TaskStopCode.EssentialContainerExited, counted: true) })
            .Returns((0, 0, 0, 0)).SetName("a failure counted before is not counted again");
        yield return new TestCaseData((object)new[] { Failed(), Failed(), Failed(Previous) }).Returns((2, 1, 3, 3)).SetName("each deployment counts its own failures, all of them in a row");
        yield return new TestCaseData((object)new[] { Failed("of-an-older-service") }).Returns((0, 0, 0, 0)).SetName("tasks of a deployment the service does not have are not counted");
        yield return new TestCaseData((object)new[] { Task(Primary, TaskState.Running), Task(Primary, TaskState.Pending) }).Returns((0, 0, 0, 0)).SetName("live tasks are not failures");
    }

    [TestCaseSource(nameof(Failures))]
    public (int Primary, int Previous, int Marked, int InARow) Failures_are_counted_once_per_task_and_per_deployment(TaskRecord[] tasks)
    {
        var decision = Decide(Service(), tasks);
        Assert.That(decision.FailuresCounted.Select(t => t.FailureCounted), Is.All.True, "returned marked, to be stored");
        var deployments = decision.Service.Deployments.ToDictionary(d => d.Id, d => d.FailedTasks);
        return (deployments[Primary], deployments[Previous], decision.FailuresCounted.Count, decision.Service.ConsecutiveFailures);
    }

    [Test]
    public void A_failure_stored_as_counted_is_not_counted_by_the_next_pass()
    {
        var first = Decide(Service(), [Failed()]);
        var second = Decide(first.Service, first.FailuresCounted, at: Now.AddSeconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(second.FailuresCounted, Is.Empty);
            Assert.That((second.Service.Primary.FailedTasks, second.Service.ConsecutiveFailures), Is.EqualTo((1, 1)));
            Assert.That(second.Service.NextStartAt, Is.EqualTo(first.Service.NextStartAt), "the backoff is not extended");
        });
    }

    [TestCase(0, 1, ExpectedResult = 1)]
    [TestCase(1, 1, ExpectedResult = 2)]
    [TestCase(2, 1, ExpectedResult = 4)]
    [TestCase(3, 1, ExpectedResult = 8)]
    [TestCase(0, 3, ExpectedResult = 4)]
    [TestCase(7, 1, ExpectedResult = 128)]
    [TestCase(8, 1, ExpectedResult = 256)]
    [TestCase(9, 1, ExpectedResult = 300)]
    [TestCase(50, 2, ExpectedResult = 300)]
    [TestCase(5000, 1, ExpectedResult = 300)]
    public double The_backoff_doubles_with_each_failure_in_a_row_up_to_five_minutes(int inARowBefore, int failingNow)
    {
        var decision = Decide(Service(consecutive: inARowBefore, nextStartAt: Now.AddSeconds(-1)), Enumerable.Range(0, failingNow).Select(_ => Failed()));
        var seconds = (decision.Service.NextStartAt!.Value - Now).TotalSeconds;
        Assert.That(decision.Service.Events.Select(e => e.Message), Is.EqualTo(new[]
        {
            $"service web is waiting until {decision.Service.NextStartAt:HH:mm:ss} before starting tasks again, after {inARowBefore + failingNow} failed in a row",
            $"service web: {failingNow} task(s) stopped (Essential container in task exited); next start in {seconds:0} s",
        }), "the failures, then the wait they cause");
        return seconds;
    }

    private static IEnumerable<TestCaseData> Resets()
    {
        // The backoff of 3 failures in a row ended 10 s ago. (a task) → (failures in a row after the pass, backoff cleared)
        var backoffEnd = Now.AddSeconds(-10);
        yield return new TestCaseData(Task(startedAt: backoffEnd.AddSeconds(1))).Returns((0, true)).SetName("a task started after the backoff and running ends the failures in a row");
        yield return new TestCaseData(Task(startedAt: backoffEnd)).Returns((0, true)).SetName("a task started as the backoff ended counts too");
        yield return new TestCaseData(Task(startedAt: backoffEnd.AddSeconds(1), health: HealthState.Healthy)).Returns((0, true)).SetName("a healthy one too");
        yield return new TestCaseData(Task(startedAt: backoffEnd.AddSeconds(1), health: HealthState.Unhealthy)).Returns((3, false)).SetName("an unhealthy one does not");
        yield return new TestCaseData(Task(startedAt: backoffEnd.AddSeconds(-1))).Returns((3, false)).SetName("one started before the backoff ended does not");
        yield return new TestCaseData(Task(Previous, startedAt: backoffEnd.AddSeconds(1))).Returns((3, false)).SetName("one of an older deployment does not");
        yield return new TestCaseData(Task(last: TaskState.Pending, startedAt: null)).Returns((3, false)).SetName("one not running yet does not");
    }

    [TestCaseSource(nameof(Resets))]
    public (int InARow, bool Cleared) The_backoff_resets_once_a_task_started_after_it_runs(TaskRecord task)
    {
        // Two desired and one task: the rollout cannot complete, which would reset the failures too.
        var decision = Decide(Service(consecutive: 3, nextStartAt: Now.AddSeconds(-10)), [task]);
        return (decision.Service.ConsecutiveFailures, decision.Service.NextStartAt is null);
    }

    [TestCase(3, ExpectedResult = 0)]
    [TestCase(0.001, ExpectedResult = 0)]
    [TestCase(0, ExpectedResult = 2)]
    [TestCase(-1, ExpectedResult = 2)]
    public int Nothing_starts_while_the_backoff_runs(double backoffLeftSeconds)
    {
        var decision = Decide(Service(consecutive: 2, nextStartAt: Now.AddSeconds(backoffLeftSeconds)), []);
        return decision.Starts.Sum(s => s.Count);
    }

    [Test]
    public void A_service_waiting_for_its_backoff_says_so_once()
    {
        var service = Service(consecutive: 2, nextStartAt: Now.AddSeconds(3));
        var first = Decide(service, []);
        var second = Decide(first.Service, [], at: Now.AddSeconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(first.Service.Events.Select(e => e.Message), Is.EqualTo(new[] { "service web is waiting until 12:00:03 before starting tasks again, after 2 failed in a row" }));
            Assert.That(second.Service, Is.SameAs(first.Service), "nothing new to say");
            Assert.That(second.Starts, Is.Empty);
        });
    }

    [Test]
    public void A_daemon_waiting_for_its_backoff_says_so_once_for_all_its_nodes()
    {
        var decision = Decide(Daemon() with { ConsecutiveFailures = 1, NextStartAt = Now.AddSeconds(1) }, [], new DaemonTargets(Nodes("a", "b", "c"), Nodes("a", "b", "c")));
        Assert.Multiple(() =>
        {
            Assert.That(decision.Starts, Is.Empty);
            Assert.That(decision.Service.Events.Select(e => e.Message), Has.Exactly(1).StartsWith("service web is waiting until"));
        });
    }

    private static IEnumerable<TestCaseData> Breakers()
    {
        // Desired 2 (threshold 3), two old tasks still running, no backoff.
        // (service, tasks failing now) → (primary's task definition, its rollout, tasks to start, tasks to stop)
        yield return new TestCaseData(Service(breaker: true, failedTasks: 2), 0).Returns(("web:2", RolloutState.InProgress, 2, 0)).SetName("below the threshold the deployment goes on");
        yield return new TestCaseData(Service(breaker: false, failedTasks: 10), 0).Returns(("web:2", RolloutState.InProgress, 2, 0)).SetName("without the breaker it never trips");
        yield return new TestCaseData(Service(breaker: true, failedTasks: 3), 0).Returns(("web:2", RolloutState.Failed, 0, 0)).SetName("at the threshold without rollback the deployment fails and holds what runs");
        yield return new TestCaseData(Service(breaker: true, failedTasks: 2), 1).Returns(("web:2", RolloutState.Failed, 0, 0)).SetName("a failure counted in the same pass trips it");
        yield return new TestCaseData(Service(breaker: true, rollback: true, failedTasks: 3, previousCompleted: false), 0).Returns(("web:2", RolloutState.Failed, 0, 0)).SetName("with rollback but nothing completed before it holds too");
        yield return new TestCaseData(Service(breaker: true, rollback: true, failedTasks: 3), 0).Returns(("web:1", RolloutState.InProgress, 2, 0)).SetName("with rollback the last completed deployment is rolled out again");
        yield return new TestCaseData(Service(desired: 10, breaker: true, failedTasks: 4), 0).Returns(("web:2", RolloutState.InProgress, 10, 0)).SetName("the threshold is half the desired count when that is more than 3");
        yield return new TestCaseData(Service(desired: 10, breaker: true, failedTasks: 5), 0).Returns(("web:2", RolloutState.Failed, 0, 0)).SetName("half of 10 trips it");
    }

    [TestCaseSource(nameof(Breakers))]
    public (string TaskDefinition, RolloutState Rollout, int Start, int Stop) The_circuit_breaker(ServiceRecord service, int failingNow)
    {
        var tasks = new[] { Task(Previous), Task(Previous) }.Concat(Enumerable.Range(0, failingNow).Select(_ => Failed()));
        var decision = Decide(service, tasks);
        return (decision.Service.Primary.TaskDefinitionArn, decision.Service.Primary.Rollout, decision.Starts.Sum(s => s.Count), decision.Stops.Count);
    }

    [Test]
    public void A_rollback_makes_the_previous_definition_primary_with_the_reason_and_keeps_the_failed_deployment()
    {
        var service = Service(breaker: true, rollback: true, failedTasks: 3, consecutive: 3, nextStartAt: Now.AddSeconds(-1));
        var decision = Decide(service, [Task(Previous), Task(Previous)]);
        var deployments = decision.Service.Deployments;
        Assert.Multiple(() =>
        {
            Assert.That(deployments.Select(d => (d.TaskDefinitionArn, d.Status, d.Rollout)), Is.EqualTo(new[]
            {
                ("web:1", DeploymentStatus.Primary, RolloutState.InProgress),
                ("web:2", DeploymentStatus.Active, RolloutState.Failed),
                ("web:1", DeploymentStatus.Active, RolloutState.Completed),
            }));
            Assert.That(deployments[0].Id, Is.Not.EqualTo(Previous), "a new deployment of the old definition");
            Assert.That((deployments[0].RolloutReason, deployments[1].RolloutReason), Is.EqualTo(("rolling back to web:1", "circuit breaker: 3 tasks failed (threshold 3)")));
            Assert.That((decision.Service.ConsecutiveFailures, decision.Service.NextStartAt), Is.EqualTo((0, (DateTimeOffset?)null)));
            Assert.That(decision.Service.Events[0].Message, Is.EqualTo($"service web deployment {Primary} failed: circuit breaker: 3 tasks failed (threshold 3); rolling back to web:1"));
        });
    }

    [Test]
    public void A_rollback_brings_back_the_completed_deployment_s_overrides_with_its_definition()
    {
        var old = new TaskOverrides([new ContainerOverrides("app", ["serve", "--old"], [])], 0, 0);
        var service = Service(breaker: true, rollback: true, failedTasks: 3);
        service = service with
        {
            Deployments = [service.Deployments[0] with { Overrides = new TaskOverrides([], 0, 1024) }, service.Deployments[1] with { Overrides = old }],
        };
        var deployments = Decide(service, [Task(Previous), Task(Previous)]).Service.Deployments;
        Assert.Multiple(() =>
        {
            Assert.That((deployments[0].TaskDefinitionArn, deployments[0].Overrides), Is.EqualTo(("web:1", old)), "the rollback deployment");
            Assert.That(deployments[1].Overrides!.Memory, Is.EqualTo(1024), "the failed one keeps its own");
        });
    }

    [Test]
    public void A_deployment_failed_without_rollback_stays_held_and_quiet()
    {
        var tripped = Decide(Service(breaker: true, failedTasks: 3), [Task(Previous), Task(Previous)]);
        var later = Decide(tripped.Service, [Task(Previous), Task(Previous)], at: Now.AddMinutes(10));
        Assert.Multiple(() =>
        {
            Assert.That(tripped.Service.Events[0].Message, Is.EqualTo($"service web deployment {Primary} failed: circuit breaker: 3 tasks failed (threshold 3)"));
            Assert.That((later.Starts.Count, later.Stops.Count, later.Remove), Is.EqualTo((0, 0, false)));
            Assert.That(later.Service, Is.SameAs(tripped.Service), "no new event, nothing changed");
        });
    }

    [Test]
    public void A_service_held_by_the_breaker_and_then_deleted_stops_its_tasks_and_goes()
    {
        var held = Decide(Service(breaker: true, failedTasks: 3), [Task(Previous), Task(Previous)]).Service;
        var deleting = held with { Deleting = true, DesiredCount = 0 };
        var stopping = Decide(deleting, [Task(Previous), Task(Previous)]);
        var gone = Decide(stopping.Service, []);
        Assert.Multiple(() =>
        {
            Assert.That(held.Primary.Rollout, Is.EqualTo(RolloutState.Failed));
            Assert.That((stopping.Stops.Count, stopping.Remove), Is.EqualTo((2, false)));
            Assert.That(gone.Remove, Is.True);
        });
    }

    [Test]
    public void A_rollout_completes_once_the_primary_runs_everything_healthy_and_says_so_once()
    {
        var service = Service(consecutive: 2, nextStartAt: Now.AddSeconds(-30));
        var tasks = new[] { Task(startedAt: Now.AddMinutes(-2)), Task(startedAt: Now.AddMinutes(-2)) };
        var done = Decide(service, tasks);
        var again = Decide(done.Service, tasks, at: Now.AddSeconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(done.Service.Deployments.Select(d => (d.Id, d.Rollout, d.RolloutReason)), Is.EqualTo(new[] { (Primary, RolloutState.Completed, "deployment completed") }), "older deployments are dropped");
            Assert.That((done.Service.ConsecutiveFailures, done.Service.NextStartAt), Is.EqualTo((0, (DateTimeOffset?)null)));
            Assert.That(done.Service.Events[0].Message, Is.EqualTo("service web has reached a steady state"));
            Assert.That((done.Starts.Count, done.Stops.Count), Is.EqualTo((0, 0)));
            Assert.That(again.Service, Is.SameAs(done.Service), "said once");
        });
    }

    [TestCase(TaskState.Pending, HealthState.Unknown, TestName = "A rollout is not complete while a task is still starting")]
    [TestCase(TaskState.Running, HealthState.Unhealthy, TestName = "A rollout is not complete while a task is unhealthy")]
    public void A_rollout_is_not_complete_before_every_task_is_healthy(TaskState last, HealthState health)
    {
        var decision = Decide(Service(), [Task(), Task(last: last, health: health, startedAt: Now)]);
        Assert.That(decision.Service.Primary.Rollout, Is.EqualTo(RolloutState.InProgress));
    }

    private static IEnumerable<TestCaseData> Deletions()
    {
        // (tasks of a service being deleted) → (record removed, tasks to stop)
        yield return new TestCaseData((object)Array.Empty<TaskRecord>()).Returns((true, 0)).SetName("a deleting service with no tasks is removed");
        yield return new TestCaseData((object)new[] { Failed(code: TaskStopCode.ServiceSchedulerInitiated) }).Returns((true, 0)).SetName("a deleting service whose tasks all stopped is removed");
        yield return new TestCaseData((object)new[] { Task(), Task() }).Returns((false, 2)).SetName("a deleting service stops what runs and stays meanwhile");
        yield return new TestCaseData((object)new[] { Task(last: TaskState.Pending) }).Returns((false, 1)).SetName("a task still starting keeps it too");
        yield return new TestCaseData((object)new[] { Task(desired: TaskState.Stopped) with { DrainUntil = Now.AddSeconds(30) } }).Returns((false, 0)).SetName("a task draining keeps it (its targets come from it)");
        yield return new TestCaseData((object)new[] { Task(desired: TaskState.Stopped) with { DrainedAt = Now } }).Returns((true, 0)).SetName("a task whose drain was released no longer does");
    }

    [TestCaseSource(nameof(Deletions))]
    public (bool Removed, int Stops) A_deleting_service_is_removed_once_nothing_runs(TaskRecord[] tasks)
    {
        var decision = Decide(Service(desired: 0, deleting: true), tasks);
        Assert.That(decision.Starts, Is.Empty);
        return (decision.Remove, decision.Stops.Count);
    }

    [Test]
    public void A_service_not_being_deleted_is_never_removed()
    {
        Assert.That(Decide(Service(desired: 0), []).Remove, Is.False);
    }

    private static HashSet<string> Nodes(params string[] names) => new(names, StringComparer.Ordinal);

    private static IEnumerable<TestCaseData> DaemonTargeting()
    {
        // (wanted nodes, startable nodes, nodes running a task) → (desired count, nodes to start on)
        yield return new TestCaseData(Nodes("a", "b", "c"), Nodes("a", "b", "c"), new[] { "a" }).Returns((3, "b,c")).SetName("a daemon wants every matching node and starts where none runs");
        yield return new TestCaseData(Nodes("a", "b", "c"), Nodes("a", "b"), new[] { "a" }).Returns((3, "b")).SetName("a wanted node whose agent is away counts but gets nothing yet");
        yield return new TestCaseData(Nodes("a"), Nodes("a"), new[] { "a", "b" }).Returns((1, "")).SetName("a node that leaves lowers the desired count");
        yield return new TestCaseData(Nodes(), Nodes(), Array.Empty<string>()).Returns((0, "")).SetName("no matching node, nothing desired");
    }

    [TestCaseSource(nameof(DaemonTargeting))]
    public (int Desired, string StartOn) A_daemon_desired_count_follows_the_nodes_it_is_aimed_at(HashSet<string> wanted, HashSet<string> startable, string[] running)
    {
        var decision = Decide(Daemon() with { DesiredCount = 2 }, running.Select(node => Task(node: node)), new DaemonTargets(wanted, startable));
        Assert.That(decision.Starts.Select(s => s.Count), Is.All.EqualTo(1), "one task per node");
        return (decision.Service.DesiredCount, string.Join(",", decision.Starts.Select(s => s.Node)));
    }

    [Test]
    public void A_daemon_needs_the_nodes_it_is_aimed_at()
    {
        Assert.Throws<ArgumentException>(() => Decide(Daemon(), [], daemon: null));
    }

    [Test]
    public void A_replica_service_places_its_starts_anywhere_in_one_placement()
    {
        var decision = Decide(Service(desired: 3), []);
        Assert.That(decision.Starts, Is.EqualTo(new[] { new ServiceStart(3, Node: null) }));
    }

    [Test]
    public void What_could_not_be_placed_is_said_once_and_a_full_placement_says_nothing()
    {
        var service = Service();
        PlacementFailure[] failures = [new(0, "NO_ACTIVE_NODES", "no nodes are registered in the cluster"), new(1, "NO_ACTIVE_NODES", "no nodes are registered in the cluster")];
        var once = ServiceController.Placed(service, failures, Now);
        var twice = ServiceController.Placed(once, failures, Now.AddSeconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(once.Events.Select(e => e.Message), Is.EqualTo(new[] { "service web is unable to place 2 tasks (NO_ACTIVE_NODES): no nodes are registered in the cluster" }));
            Assert.That(twice, Is.SameAs(once));
            Assert.That(ServiceController.Placed(service, [], Now), Is.SameAs(service));
        });
    }
}
