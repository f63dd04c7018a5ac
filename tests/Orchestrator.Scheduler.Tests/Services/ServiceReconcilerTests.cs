using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Services;

namespace Orchestrator.Scheduler.Tests.Services;

internal sealed class ServiceReconcilerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private const string Old = "old";
    private const string New = "new";

    private static ServiceRecord Service(int desired, int min = 100, int max = 200, bool rolling = false, int grace = 0) => new()
    {
        Cluster = "default",
        Name = "web",
        DesiredCount = desired,
        Strategies = [],
        Constraints = [],
        MinimumHealthyPercent = min,
        MaximumPercent = max,
        HealthCheckGracePeriodSeconds = grace,
        Deployments = rolling
            ? [Deployment(New, DeploymentStatus.Primary), Deployment(Old, DeploymentStatus.Active)]
            : [Deployment(New, DeploymentStatus.Primary)],
        CreatedAt = Now.AddHours(-1),
    };

    private static DeploymentRecord Deployment(string id, DeploymentStatus status) =>
        new(id, $"web:{(id == New ? 2 : 1)}", status, RolloutState.InProgress, "", 0, Now.AddHours(-1), Now.AddHours(-1));

    private static int _ids;

    /// <summary>A live task: "n" new or "o" old deployment; healthy or not; on a draining node or not.</summary>
    private static ServiceTaskView Task(string deployment, bool healthy = true, bool draining = false, string node = "n1", HealthState health = HealthState.Unknown) => new(new TaskRecord
    {
        Id = $"{++_ids:D32}",
        Cluster = "default",
        TaskDefinitionArn = "web:1",
        Family = "web",
        Revision = 1,
        Node = node,
        LastStatus = healthy ? TaskState.Running : TaskState.Pending,
        DesiredStatus = TaskState.Running,
        Containers = [],
        Group = "service:web",
        Service = "web",
        Deployment = deployment,
        Cpu = 1,
        Memory = 1,
        CreatedAt = Now.AddMinutes(-10 + _ids % 7),
        StartedAt = Now.AddMinutes(-5),
        Health = health,
    }, draining, healthy);

    private static ServiceTaskView[] Many(int count, string deployment, bool healthy = true) =>
        [.. Enumerable.Range(0, count).Select(_ => Task(deployment, healthy))];

    private static IEnumerable<TestCaseData> Steps()
    {
        // (service, live tasks) → (tasks to start, old to stop, new to stop, complete)
        yield return new TestCaseData(Service(3), Array.Empty<ServiceTaskView>(), 0).Returns((3, 0, 0, false)).SetName("new service starts its desired count");
        yield return new TestCaseData(Service(3), Many(3, New), 0).Returns((0, 0, 0, true)).SetName("steady when all run healthy");
        yield return new TestCaseData(Service(3), Many(3, New, healthy: false), 0).Returns((0, 0, 0, false)).SetName("starting tasks are waited for");
        yield return new TestCaseData(Service(3), Many(1, New), 0).Returns((2, 0, 0, false)).SetName("stopped tasks are replaced");
        yield return new TestCaseData(Service(1), Many(3, New), 0).Returns((0, 0, 2, false)).SetName("scale in stops the surplus");
        yield return new TestCaseData(Service(0), Many(2, New), 0).Returns((0, 0, 2, false)).SetName("scale to zero");

        // Rolling, 4 desired, at several min/max settings.
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), Many(4, Old), 0).Returns((4, 0, 0, false)).SetName("100/200: start all new first, stop none");
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), Many(4, Old).Concat(Many(4, New, healthy: false)).ToArray(), 0).Returns((0, 0, 0, false)).SetName("100/200: wait for new to be healthy");
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), Many(4, Old).Concat(Many(4, New)).ToArray(), 0).Returns((0, 4, 0, false)).SetName("100/200: then stop all old");
        yield return new TestCaseData(Service(4, 50, 200, rolling: true), Many(4, Old), 0).Returns((4, 2, 0, false)).SetName("50/200: stop half the old while starting new");
        yield return new TestCaseData(Service(4, 50, 100, rolling: true), Many(4, Old), 0).Returns((0, 2, 0, false)).SetName("50/100: stop two old; their room is free once they are gone");
        yield return new TestCaseData(Service(4, 50, 100, rolling: true), Many(2, Old).ToArray(), 0).Returns((2, 0, 0, false)).SetName("50/100: start two new in the room the old left");
        yield return new TestCaseData(Service(4, 50, 100, rolling: true), Many(2, Old).Concat(Many(2, New, healthy: false)).ToArray(), 0).Returns((0, 0, 0, false)).SetName("50/100: hold while new start");
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), Many(4, Old), 2).Returns((2, 0, 0, false)).SetName("tasks still stopping count toward the maximum");
        yield return new TestCaseData(Service(4, 50, 100, rolling: true), Many(2, Old).Concat(Many(2, New)).ToArray(), 0).Returns((0, 2, 0, false)).SetName("50/100: new ones healthy, stop the last two old");
        yield return new TestCaseData(Service(4, 0, 100, rolling: true), Many(4, Old), 0).Returns((0, 4, 0, false)).SetName("0/100: stop all old first");
        yield return new TestCaseData(Service(4, 75, 125, rolling: true), Many(4, Old), 0).Returns((1, 1, 0, false)).SetName("75/125: one old out, one new in the extra room");
        yield return new TestCaseData(Service(4, 100, 150, rolling: true), Many(4, Old).Concat(Many(2, New)).ToArray(), 0).Returns((0, 2, 0, false)).SetName("100/150: stop old as new become healthy");
        yield return new TestCaseData(Service(4, 100, 150, rolling: true), Many(2, Old).Concat(Many(2, New)).ToArray(), 0).Returns((2, 0, 0, false)).SetName("100/150: room for the last new");
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), Many(2, Old, healthy: false).Concat(Many(4, New)).ToArray(), 0).Returns((0, 2, 0, false)).SetName("old tasks that are not healthy go at once");
    }

    [TestCaseSource(nameof(Steps))]
    public (int Start, int StopOld, int StopNew, bool Complete) Rolling_step(ServiceRecord service, ServiceTaskView[] live, int stopping)
    {
        var plan = ServiceReconciler.Plan(service, live, Now, stopping);
        var stopped = live.Where(v => plan.Stops.Any(s => s.TaskId == v.Task.Id)).ToList();
        return (plan.Start, stopped.Count(v => v.Task.Deployment == Old), stopped.Count(v => v.Task.Deployment == New), plan.RolloutComplete);
    }

    /// <summary>
    /// Runs whole rollouts step by step (new tasks become healthy one pass after they start) and checks
    /// the invariant at every step: never fewer healthy than the minimum, never more running than the maximum.
    /// </summary>
    [TestCase(4, 100, 200)]
    [TestCase(4, 50, 200)]
    [TestCase(4, 50, 100)]
    [TestCase(6, 75, 125)]
    [TestCase(3, 0, 100)]
    [TestCase(10, 90, 110)]
    public void A_whole_rollout_keeps_min_healthy_and_max_running(int desired, int min, int max)
    {
        var service = Service(desired, min, max, rolling: true);
        var tasks = Many(desired, Old).ToList();
        var minHealthy = (int)Math.Ceiling(desired * min / 100.0);
        var maxRunning = desired * max / 100;
        for (var pass = 0; pass < 50; pass++)
        {
            var plan = ServiceReconciler.Plan(service, tasks, Now);
            if (plan.RolloutComplete)
            {
                Assert.That(tasks.All(t => t.Task.Deployment == New && t.Healthy) && tasks.Count == desired);
                return;
            }

            tasks = [.. tasks.Where(t => plan.Stops.All(s => s.TaskId != t.Task.Id)).Select(t => t.Healthy ? t : t with { Healthy = true })];
            Assert.That(tasks.Count(t => t.Healthy), Is.GreaterThanOrEqualTo(minHealthy), $"pass {pass}: healthy after stops");
            tasks.AddRange(Many(plan.Start, New, healthy: false));
            Assert.That(tasks.Count, Is.LessThanOrEqualTo(maxRunning), $"pass {pass}: running after starts");
        }

        Assert.Fail("the rollout did not complete in 50 passes");
    }

    [Test]
    public void Tasks_on_a_draining_node_are_replaced_within_the_healthy_minimum()
    {
        var live = new[] { Task(New, draining: true, node: "d"), Task(New, draining: true, node: "d"), Task(New, node: "a"), Task(New, node: "b") };
        var plan = ServiceReconciler.Plan(Service(4, 50, 150), live, Now);
        Assert.Multiple(() =>
        {
            Assert.That(plan.Start, Is.EqualTo(2), "two replacements, within 150%");
            Assert.That(plan.Stops.Select(s => s.Reason), Is.EqualTo(new[] { "Node is draining", "Node is draining" }), "4 healthy - 2 = the 50% minimum");
        });
    }

    [Test]
    public void An_unhealthy_task_is_replaced_only_after_the_grace_period()
    {
        var unhealthy = Task(New, health: HealthState.Unhealthy) with { Healthy = false };
        var within = ServiceReconciler.Plan(Service(1, grace: 600), [unhealthy], Now);
        var after = ServiceReconciler.Plan(Service(1, grace: 60), [unhealthy], Now);
        Assert.Multiple(() =>
        {
            Assert.That(within.Stops, Is.Empty);
            Assert.That(after.Stops.Single().Reason, Is.EqualTo("Task failed container health checks"));
            Assert.That(after.Start, Is.EqualTo(1), "and a replacement is started");
        });
    }

    /// <summary>A new task RUNNING and healthy in its containers, as the balancers see it (the state folds their verdict into Healthy).</summary>
    private static ServiceTaskView Balanced(string deployment, bool balancerHealthy, string? failedIn = null) =>
        Task(deployment) with { Healthy = balancerHealthy, FailedTargetGroup = failedIn, AwaitingBalancer = !balancerHealthy && failedIn is null };

    private static IEnumerable<TestCaseData> BalancedSteps()
    {
        // (service, live tasks, tasks still stopping or draining) → (tasks to start, old to stop, new to stop, complete)
        TestCaseData Case(string name, ServiceRecord service, IEnumerable<ServiceTaskView> live, int stopping, (int, int, int, bool) expected) =>
            new TestCaseData(service, live.ToArray(), stopping).Returns(expected).SetName(name);

        var rolling = Service(2, 100, 200, rolling: true);
        yield return Case("balanced: new tasks running but not yet healthy in the balancer hold the old ones", rolling,
            [.. Many(2, Old), Balanced(New, false), Balanced(New, false)], 0, (0, 0, 0, false));
        yield return Case("balanced: one new task healthy in the balancer lets one old one go", rolling,
            [.. Many(2, Old), Balanced(New, true), Balanced(New, false)], 0, (0, 1, 0, false));
        yield return Case("balanced: both healthy in the balancer, the old ones go", rolling,
            [.. Many(2, Old), Balanced(New, true), Balanced(New, true)], 0, (0, 2, 0, false));
        yield return Case("balanced: the old ones still draining count toward the maximum", Service(2, 100, 100, rolling: true),
            [], 2, (0, 0, 0, false));
        yield return Case("balanced: 50/100 with one old draining, the last old one stays and nothing starts until the draining one is gone", Service(2, 50, 100, rolling: true),
            [.. Many(1, Old)], 1, (0, 0, 0, false));
        yield return Case("balanced: complete only once every task is healthy in the balancer", Service(2),
            [Balanced(New, true), Balanced(New, false)], 0, (0, 0, 0, false));
        yield return Case("balanced: steady when the balancer finds all healthy", Service(2),
            [Balanced(New, true), Balanced(New, true)], 0, (0, 0, 0, true));
        yield return Case("balanced: a task the balancer finds unhealthy is replaced", Service(2),
            [Balanced(New, true), Balanced(New, false, failedIn: "web-tg")], 0, (1, 0, 1, false));
        yield return Case("balanced: old tasks no balancer has judged yet (a new leader, balancers not back) are not stopped as if they served nobody", rolling,
            [Balanced(Old, false), Balanced(Old, false), Balanced(New, false), Balanced(New, false)], 0, (0, 0, 0, false));
        yield return Case("balanced: an old task the balancers find unhealthy serves nobody and goes at once", rolling,
            [Balanced(Old, false, failedIn: "web-tg"), Balanced(Old, true), Balanced(New, false), Balanced(New, false)], 0, (0, 1, 0, false));
        yield return Case("balanced: an unknown verdict (no balancer) never replaces", Service(2),
            [Balanced(New, true), Balanced(New, false)], 0, (0, 0, 0, false));
    }

    [TestCaseSource(nameof(BalancedSteps))]
    public (int Start, int StopOld, int StopNew, bool Complete) Balanced_step(ServiceRecord service, ServiceTaskView[] live, int stopping) =>
        Rolling_step(service, live, stopping);

    [Test]
    public void A_task_the_balancer_finds_unhealthy_is_replaced_only_after_the_grace_period_and_says_where()
    {
        var failing = Balanced(New, false, failedIn: "web-tg"); // started 5 minutes ago
        var within = ServiceReconciler.Plan(Service(1, grace: 600), [failing], Now);
        var after = ServiceReconciler.Plan(Service(1, grace: 60), [failing], Now);
        Assert.Multiple(() =>
        {
            Assert.That(within.Stops, Is.Empty);
            Assert.That(after.Stops.Single().Reason, Is.EqualTo("Task failed ELB health checks in target group web-tg"));
            Assert.That(after.Start, Is.EqualTo(1), "and a replacement is started");
        });
    }

    [Test]
    public void Scale_in_takes_from_the_node_with_most_of_the_services_tasks()
    {
        var live = new[] { Task(New, node: "a"), Task(New, node: "b"), Task(New, node: "b"), Task(New, node: "c") };
        var plan = ServiceReconciler.Plan(Service(3), live, Now, 0);
        Assert.That(live.Single(v => v.Task.Id == plan.Stops.Single().TaskId).Task.Node, Is.EqualTo("b"));
    }

    [Test]
    public void Binpack_scale_in_empties_the_node_with_the_most_room()
    {
        var live = new[] { Task(New, node: "full") with { NodeFreeMemory = 100 }, Task(New, node: "roomy") with { NodeFreeMemory = 5000 }, Task(New, node: "mid") with { NodeFreeMemory = 900 } };
        var plan = ServiceReconciler.Plan(Service(2) with { Strategies = [new StrategySpec("binpack", "memory")] }, live, Now, 0);
        Assert.That(live.Single(v => v.Task.Id == plan.Stops.Single().TaskId).Task.Node, Is.EqualTo("roomy"));
    }

    private static ServiceTaskView Protect(ServiceTaskView view) => view with { Protected = true };

    /// <summary>Created after every other task: the first a scale-in would otherwise take.</summary>
    private static ServiceTaskView Newest(ServiceTaskView view) => view with { Task = view.Task with { CreatedAt = Now } };

    private static ServiceTaskView[] ManyProtected(int count, string deployment, bool healthy = true) =>
        [.. Many(count, deployment, healthy).Select(Protect)];

    /// <summary>"o"/"n" an old/new task, upper case when protected: the label of each task stopped.</summary>
    private static string Label(ServiceTaskView view)
    {
        var label = view.Task.Deployment == Old ? "o" : "n";
        return view.Protected ? label.ToUpperInvariant() : label;
    }

    private static IEnumerable<TestCaseData> ProtectedSteps()
    {
        // (service, live tasks) → (tasks to start, labels of the tasks stopped in order, complete)
        yield return new TestCaseData(Service(1), Many(2, New).Append(Protect(Newest(Task(New)))).ToArray()).Returns((0, "nn", false)).SetName("scale in passes the protected newest task by and stops the unprotected");
        yield return new TestCaseData(Service(3), new[] { Protect(Newest(Task(New, node: "b"))), Task(New, node: "b"), Task(New, node: "a"), Task(New, node: "c") }).Returns((0, "n", false)).SetName("scale in passes by the protected task on the busiest node");
        yield return new TestCaseData(Service(2), ManyProtected(1, New, healthy: false).Concat(Many(2, New)).ToArray()).Returns((0, "n", false)).SetName("a protected task still starting is not the first to go; a healthy unprotected one goes");
        yield return new TestCaseData(Service(1), ManyProtected(2, New).Concat(Many(1, New)).ToArray()).Returns((0, "n", false)).SetName("scale in stops what is unprotected even when that leaves more than desired");
        yield return new TestCaseData(Service(1), ManyProtected(2, New)).Returns((0, "", false)).SetName("all of the surplus protected: nothing stopped and not complete");
        yield return new TestCaseData(Service(0), ManyProtected(2, New)).Returns((0, "", false)).SetName("scale to zero waits for protected tasks");
        yield return new TestCaseData(Service(1), Many(2, New)).Returns((0, "n", false)).SetName("the same surplus unprotected is stopped");
        yield return new TestCaseData(Service(2), ManyProtected(2, New)).Returns((0, "", true)).SetName("protected tasks at the desired count are steady");

        // Deployments: protected old tasks keep running, the unprotected old ones are replaced.
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), ManyProtected(2, Old).Concat(Many(2, Old)).Concat(Many(4, New)).ToArray()).Returns((0, "oo", false)).SetName("deployment stops only the unprotected old tasks");
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), ManyProtected(2, Old).Concat(Many(4, New)).ToArray()).Returns((0, "", false)).SetName("deployment leaves protected old tasks running and is not complete");
        yield return new TestCaseData(Service(4, 0, 100, rolling: true), ManyProtected(4, Old)).Returns((0, "", false)).SetName("0/100: all old protected, none stopped and no room to start");
        yield return new TestCaseData(Service(4, 0, 100, rolling: true), ManyProtected(1, Old).Concat(Many(3, Old)).ToArray()).Returns((0, "ooo", false)).SetName("0/100: the unprotected old go first, the protected one stays");
        yield return new TestCaseData(Service(4, 100, 200, rolling: true), ManyProtected(2, Old, healthy: false).Concat(Many(4, New)).ToArray()).Returns((0, "", false)).SetName("protected old tasks that are not yet healthy are not stopped either");
    }

    [TestCaseSource(nameof(ProtectedSteps))]
    public (int Start, string Stopped, bool Complete) Protected_step(ServiceRecord service, ServiceTaskView[] live)
    {
        var plan = ServiceReconciler.Plan(service, live, Now);
        var stopped = string.Concat(plan.Stops.Select(s => Label(live.Single(v => v.Task.Id == s.TaskId))));
        return (plan.Start, stopped, plan.RolloutComplete);
    }

    [Test]
    public void A_protected_task_that_fails_its_health_checks_is_still_replaced_after_the_grace_period()
    {
        var unhealthy = Protect(Task(New, health: HealthState.Unhealthy) with { Healthy = false });
        var within = ServiceReconciler.Plan(Service(1, grace: 600), [unhealthy], Now);
        var after = ServiceReconciler.Plan(Service(1, grace: 60), [unhealthy], Now);
        Assert.Multiple(() =>
        {
            Assert.That(within.Stops, Is.Empty, "within the grace period it is left alone");
            Assert.That(after.Stops.Select(s => (s.TaskId, s.Reason)), Is.EqualTo(new[] { (unhealthy.Task.Id, "Task failed container health checks") }));
            Assert.That(after.Start, Is.EqualTo(1), "and a replacement is started");
        });
    }

    [Test]
    public void A_protected_unhealthy_task_of_an_old_deployment_is_stopped_and_the_healthy_protected_one_kept()
    {
        var unhealthy = Protect(Task(Old, health: HealthState.Unhealthy) with { Healthy = false });
        var healthy = Protect(Task(Old));
        var plan = ServiceReconciler.Plan(Service(2, 100, 200, rolling: true, grace: 60), [unhealthy, healthy, .. Many(2, New)], Now);
        Assert.Multiple(() =>
        {
            Assert.That(plan.Stops.Select(s => (s.TaskId, s.Reason)), Is.EqualTo(new[] { (unhealthy.Task.Id, "Task failed container health checks") }));
            Assert.That(plan.RolloutComplete, Is.False, "the protected old task still runs");
        });
    }

    [Test]
    public void A_deleting_service_stops_everything()
    {
        var plan = ServiceReconciler.Plan(Service(3) with { Deleting = true }, Many(3, New), Now);
        Assert.That((plan.Start, plan.Stops.Count), Is.EqualTo((0, 3)));
    }
}
