using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Services;

namespace Orchestrator.Scheduler.Tests.TaskSets;

/// <summary>The EXTERNAL controller's pass, as a table: each task set keeps ⌈desired × scale / 100⌉ tasks.</summary>
internal sealed class TaskSetReconcilerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private const string Blue = "ecs-svc/blue";
    private const string Green = "ecs-svc/green";

    private static DeploymentRecord Set(string id, double scale, DeploymentStatus status = DeploymentStatus.Active) =>
        new(id, id == Blue ? "web:1" : "web:2", status, RolloutState.Completed, "", 0, Now.AddHours(-1), Now.AddHours(-1), null, scale);

    private static ServiceRecord Service(int desired, params DeploymentRecord[] sets) => new()
    {
        Cluster = "default",
        Name = "web",
        DesiredCount = desired,
        Strategies = [],
        Constraints = [],
        HealthCheckGracePeriodSeconds = 30,
        Deployments = Scheduler.Services.TaskSets.Ordered(sets),
        External = true,
        CreatedAt = Now.AddHours(-1),
    };

    private static int _ids;

    private static ServiceTaskView Task(string set, bool healthy = true, bool drainingNode = false, HealthState health = HealthState.Unknown, bool isProtected = false, int startedMinutesAgo = 5) => new(new TaskRecord
    {
        Id = $"{++_ids:D32}",
        Cluster = "default",
        TaskDefinitionArn = "web:1",
        Family = "web",
        Revision = 1,
        Node = "n1",
        LastStatus = healthy || health == HealthState.Unhealthy ? TaskState.Running : TaskState.Pending,
        DesiredStatus = TaskState.Running,
        Containers = [],
        Group = "service:web",
        Service = "web",
        Deployment = set,
        Cpu = 1,
        Memory = 1,
        CreatedAt = Now.AddMinutes(-10 + _ids % 7),
        StartedAt = Now.AddMinutes(-startedMinutesAgo),
        Health = health,
    }, drainingNode, healthy, Protected: isProtected);

    private static ServiceTaskView[] Many(int count, string set, bool healthy = true) =>
        [.. Enumerable.Range(0, count).Select(_ => Task(set, healthy))];

    private static readonly DeploymentRecord BluePrimary = Set(Blue, 100, DeploymentStatus.Primary);

    private static IEnumerable<TestCaseData> Steps()
    {
        // (service, live tasks) → (blue starts, green starts, blue stops, green stops)
        yield return new TestCaseData(Service(4), Array.Empty<ServiceTaskView>()).Returns((0, 0, 0, 0)).SetName("no task set: nothing runs");
        yield return new TestCaseData(Service(4, BluePrimary), Array.Empty<ServiceTaskView>()).Returns((4, 0, 0, 0)).SetName("blue at 100 % starts the desired count");
        yield return new TestCaseData(Service(4, BluePrimary), Many(4, Blue)).Returns((0, 0, 0, 0)).SetName("blue at 100 % running: nothing to do");
        yield return new TestCaseData(Service(4, BluePrimary), Many(4, Blue, healthy: false)).Returns((0, 0, 0, 0)).SetName("pending tasks are waited for");
        yield return new TestCaseData(Service(10, BluePrimary, Set(Green, 10)), Many(10, Blue)).Returns((0, 1, 0, 0)).SetName("green canary at 10 % of 10: one task");
        yield return new TestCaseData(Service(10, BluePrimary, Set(Green, 15)), Many(10, Blue)).Returns((0, 2, 0, 0)).SetName("15 % of 10 rounds up to two");
        yield return new TestCaseData(Service(3, BluePrimary, Set(Green, 0)), Many(3, Blue)).Returns((0, 0, 0, 0)).SetName("a set at 0 % runs none");
        yield return new TestCaseData(Service(10, BluePrimary, Set(Green, 100)), Many(10, Blue).Concat(Many(1, Green)).ToArray()).Returns((0, 9, 0, 0)).SetName("green raised to 100 %: starts the rest, blue untouched");
        yield return new TestCaseData(Service(10, BluePrimary, Set(Green, 10)), Many(10, Blue).Concat(Many(4, Green)).ToArray()).Returns((0, 0, 0, 3)).SetName("green lowered to 10 %: stops the surplus");
        yield return new TestCaseData(Service(2, BluePrimary, Set(Green, 50)), Many(4, Blue).Concat(Many(1, Green)).ToArray()).Returns((0, 0, 2, 0)).SetName("desired count lowered: every set follows");
        yield return new TestCaseData(Service(6, BluePrimary, Set(Green, 50)), Many(2, Blue).Concat(Many(1, Green)).ToArray()).Returns((4, 2, 0, 0)).SetName("desired count raised: every set follows");
        yield return new TestCaseData(Service(4, Set(Blue, 100, DeploymentStatus.Draining), Set(Green, 100, DeploymentStatus.Primary)), Many(4, Blue).Concat(Many(4, Green)).ToArray()).Returns((0, 0, 4, 0)).SetName("a DRAINING set stops all its tasks");
        yield return new TestCaseData(Service(4, Set(Blue, 100, DeploymentStatus.Draining)), Array.Empty<ServiceTaskView>()).Returns((0, 0, 0, 0)).SetName("a DRAINING set starts none");
        yield return new TestCaseData(Service(4, BluePrimary) with { Deleting = true }, Many(4, Blue)).Returns((0, 0, 4, 0)).SetName("a service being deleted stops all");
    }

    [TestCaseSource(nameof(Steps))]
    public (int BlueStarts, int GreenStarts, int BlueStops, int GreenStops) Plans(ServiceRecord service, ServiceTaskView[] live)
    {
        var plan = TaskSetReconciler.Plan(service, live, Now);
        var setOf = live.ToDictionary(v => v.Task.Id, v => v.Task.Deployment);
        Assert.That(plan.Starts.Select(s => s.Node), Is.All.Null);
        return (
            plan.Starts.Where(s => s.Deployment == Blue).Sum(s => s.Count),
            plan.Starts.Where(s => s.Deployment == Green).Sum(s => s.Count),
            plan.Stops.Count(s => setOf[s.TaskId] == Blue),
            plan.Stops.Count(s => setOf[s.TaskId] == Green));
    }

    [Test]
    public void The_primary_sets_starts_come_first()
    {
        var plan = TaskSetReconciler.Plan(Service(4, Set(Green, 50), BluePrimary), [], Now);
        Assert.That(plan.Starts.Select(s => (s.Deployment, s.Count)), Is.EqualTo(new[] { (Blue, 4), (Green, 2) }));
    }

    [Test]
    public void Surplus_goes_not_healthy_first_and_protected_tasks_stay()
    {
        var healthy = Task(Blue);
        var guarded = Task(Blue, isProtected: true);
        var starting = Task(Blue, healthy: false);
        var plan = TaskSetReconciler.Plan(Service(4, Set(Blue, 50, DeploymentStatus.Primary)), [healthy, guarded, starting], Now);
        Assert.That(plan.Stops, Is.EqualTo(new[] { new TaskStop(starting.Task.Id, TaskSetReconciler.ScaledIn) }));

        var drained = TaskSetReconciler.Plan(Service(2, Set(Blue, 50, DeploymentStatus.Draining)), [healthy, guarded], Now);
        Assert.That(drained.Stops, Is.EqualTo(new[] { new TaskStop(healthy.Task.Id, TaskSetReconciler.SetDeleted) }), "protection holds a draining set's task until it ends");
    }

    [Test]
    public void An_unhealthy_task_is_replaced_after_the_grace_period_only()
    {
        var early = Task(Blue, health: HealthState.Unhealthy, startedMinutesAgo: 0);
        var late = Task(Blue, healthy: false, health: HealthState.Unhealthy, isProtected: true, startedMinutesAgo: 5);
        var plan = TaskSetReconciler.Plan(Service(3, BluePrimary), [early, late, Task(Blue)], Now);
        Assert.Multiple(() =>
        {
            Assert.That(plan.Stops, Is.EqualTo(new[] { new TaskStop(late.Task.Id, TaskSetReconciler.Unhealthy) }), "protected or not, once the grace is over");
            Assert.That(plan.Starts.Single(), Is.EqualTo(new ServiceStart(1, Deployment: Blue)), "and replaced in the same pass");
        });
    }

    [Test]
    public void A_task_the_balancers_find_unhealthy_is_replaced_after_the_grace_period_and_says_where()
    {
        var early = Task(Blue, healthy: false, startedMinutesAgo: 0) with { FailedTargetGroup = "web-tg" };
        var late = Task(Blue, healthy: false, startedMinutesAgo: 5) with { FailedTargetGroup = "web-tg" };
        var plan = TaskSetReconciler.Plan(Service(3, BluePrimary), [early, late, Task(Blue)], Now);
        Assert.That(plan.Stops, Is.EqualTo(new[] { new TaskStop(late.Task.Id, "Task failed ELB health checks in target group web-tg") }));
    }

    [Test]
    public void A_task_on_a_draining_node_the_balancers_have_not_judged_yet_waits_for_its_replacement()
    {
        var moving = Task(Blue, healthy: false, drainingNode: true) with { AwaitingBalancer = true };
        var plan = TaskSetReconciler.Plan(Service(1, BluePrimary), [moving], Now);
        Assert.That(plan.Stops, Is.Empty, "it may be serving: it goes once its replacement is healthy");
    }

    [Test]
    public void A_task_on_a_draining_node_stops_once_its_replacement_is_healthy()
    {
        var moving = Task(Blue, drainingNode: true);
        var first = TaskSetReconciler.Plan(Service(2, BluePrimary), [moving, Task(Blue)], Now);
        var waiting = TaskSetReconciler.Plan(Service(2, BluePrimary), [moving, Task(Blue), Task(Blue, healthy: false)], Now);
        var done = TaskSetReconciler.Plan(Service(2, BluePrimary), [moving, Task(Blue), Task(Blue)], Now);
        Assert.Multiple(() =>
        {
            Assert.That((first.Starts.Single().Count, first.Stops.Count), Is.EqualTo((1, 0)), "a replacement first");
            Assert.That((waiting.Starts.Count, waiting.Stops.Count), Is.EqualTo((0, 0)), "held until it is healthy");
            Assert.That(done.Stops, Is.EqualTo(new[] { new TaskStop(moving.Task.Id, TaskSetReconciler.NodeDraining) }));
        });
    }

    [Test]
    public void A_task_of_no_task_set_is_stopped()
    {
        var orphan = Task("ecs-svc/gone");
        var plan = TaskSetReconciler.Plan(Service(1, BluePrimary), [orphan, Task(Blue)], Now);
        Assert.That(plan.Stops, Is.EqualTo(new[] { new TaskStop(orphan.Task.Id, TaskSetReconciler.SetDeleted) }));
    }

    [TestCase(10, 10.0, 1)]
    [TestCase(10, 15.0, 2)]
    [TestCase(3, 33.3, 1)]
    [TestCase(3, 33.34, 2)]
    [TestCase(7, 100.0, 7)]
    [TestCase(7, 0.0, 0)]
    [TestCase(0, 50.0, 0)]
    [TestCase(10, 0.1, 1)]
    public void Computed_desired_count_is_the_ceiling_of_the_share(int desired, double scale, int expected) =>
        Assert.That(Scheduler.Services.TaskSets.ComputedDesiredCount(desired, scale), Is.EqualTo(expected));

    [TestCase(2, 2, 0, 2, ExpectedResult = true)]
    [TestCase(2, 2, 0, 1, ExpectedResult = false)]
    [TestCase(2, 1, 1, 1, ExpectedResult = false)]
    [TestCase(2, 3, 0, 2, ExpectedResult = false)]
    [TestCase(0, 0, 0, 0, ExpectedResult = true)]
    public bool Stability(int computed, int running, int pending, int healthy) => Scheduler.Services.TaskSets.Steady(computed, running, pending, healthy);

    [Test]
    public void The_record_keeps_primary_first_then_active_then_draining()
    {
        var service = Service(1, Set(Blue, 100, DeploymentStatus.Primary), Set(Green, 10));
        var promoted = Scheduler.Services.TaskSets.MakePrimary(service, Green, Now);
        var drained = Scheduler.Services.TaskSets.Replace(promoted, promoted.Deployments[1] with { Status = DeploymentStatus.Draining });
        Assert.Multiple(() =>
        {
            Assert.That(promoted.Deployments.Select(d => (d.Id, d.Status)), Is.EqualTo(new[] { (Green, DeploymentStatus.Primary), (Blue, DeploymentStatus.Active) }));
            Assert.That(drained.Deployments.Select(d => (d.Id, d.Status)), Is.EqualTo(new[] { (Green, DeploymentStatus.Primary), (Blue, DeploymentStatus.Draining) }));
            Assert.That(drained.Deployments.Select(d => d.Scale), Is.All.Not.Null, "every task set has its scale");
        });
    }
}
