using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.LoadBalancing;
using static Orchestrator.Scheduler.Tests.LoadBalancing.LoadBalancingFixtures;

namespace Orchestrator.Scheduler.Tests.LoadBalancing;

internal sealed class TargetsBuilderTests
{
    private static IEnumerable<TestCaseData> Tasks()
    {
        // A task, whether its definition has a container health check → is it a target, draining?
        yield return new TestCaseData(Task("a"), false, true, false).SetName("RUNNING, desired RUNNING, no check: a target");
        yield return new TestCaseData(Task("a", last: TaskState.Pending), false, false, false).SetName("PENDING: none");
        yield return new TestCaseData(Task("a", last: TaskState.Provisioning), false, false, false).SetName("PROVISIONING: none");
        yield return new TestCaseData(Task("a", health: HealthState.Unknown), true, false, false).SetName("checked, not yet HEALTHY: none");
        yield return new TestCaseData(Task("a", health: HealthState.Healthy), true, true, false).SetName("checked and HEALTHY: a target");
        yield return new TestCaseData(Task("a", health: HealthState.Unhealthy), true, false, false).SetName("checked and UNHEALTHY: none");
        yield return new TestCaseData(Task("a", desired: TaskState.Stopped, drainUntil: Now.AddSeconds(30)), false, true, true).SetName("to stop, drain under way: draining");
        yield return new TestCaseData(Task("a", desired: TaskState.Stopped, drainUntil: Now.AddSeconds(30), health: HealthState.Unhealthy), true, true, true)
            .SetName("to stop and unhealthy, drain under way: still draining");
        yield return new TestCaseData(Task("a", desired: TaskState.Stopped, drainUntil: Now), false, false, false).SetName("to stop, drain time reached: none");
        yield return new TestCaseData(Task("a", desired: TaskState.Stopped), false, false, false).SetName("to stop, its stop released: none");
        yield return new TestCaseData(Task("a", last: TaskState.Stopping, desired: TaskState.Stopped, drainUntil: Now.AddSeconds(30)), false, false, false).SetName("STOPPING: none");
        yield return new TestCaseData(Task("a", last: TaskState.Stopped, desired: TaskState.Stopped, drainUntil: Now.AddSeconds(30)), false, false, false).SetName("STOPPED: none");
        yield return new TestCaseData(Task("a", port: 0), false, false, false).SetName("no binding of the container port: none");
    }

    [TestCaseSource(nameof(Tasks))]
    public void A_task_is_a_target_while_it_runs_and_drains_while_it_is_stopped(TaskRecord task, bool healthChecked, bool target, bool draining)
    {
        var targets = Build([Group("tg")], new BalancedService(Service("web"), [On(task, healthChecked: healthChecked)]))["tg"];

        Assert.That(targets, Has.Count.EqualTo(target ? 1 : 0));
        if (target)
        {
            Assert.That(targets[0], Is.EqualTo(new DerivedTarget("tg", "a", "10.0.0.1", 49153, 100, draining, "default", "web", "n1", "d1")));
        }
    }

    [TestCase("", false, "10.0.0.1", ExpectedResult = "10.0.0.1")]
    [TestCase("0.0.0.0", false, "10.0.0.1", ExpectedResult = "10.0.0.1")]
    [TestCase("::", false, "10.0.0.1", ExpectedResult = "10.0.0.1")]
    [TestCase("127.0.0.1", false, "10.0.0.1", ExpectedResult = "127.0.0.1")]
    [TestCase("127.0.0.1", true, "lb-node.internal", ExpectedResult = "lb-node.internal")]
    [TestCase("", true, "lb-node.internal", ExpectedResult = "lb-node.internal")]
    public string The_host_is_the_advertised_address_then_a_specific_bind_address_then_the_peer(string bindIp, bool advertised, string nodeHost) =>
        Build([Group("tg")], new BalancedService(Service("web"), [On(Task("a", bindIp: bindIp), nodeHost, advertised)]))["tg"].Single().Host;

    [Test]
    public void A_task_on_a_node_of_unknown_address_is_no_target() =>
        Assert.That(Build([Group("tg")], new BalancedService(Service("web"), [On(Task("a"), host: "")]))["tg"], Is.Empty);

    [Test]
    public void Every_group_is_there_with_the_targets_of_every_service_naming_it_ordered_by_task_id()
    {
        var targets = Build(
            [Group("tg"), Group("other", 8081), Group("empty", 8082)],
            new BalancedService(Service("web", groups: ["tg", "other"]), [On(Task("c")), On(Task("a"))]),
            new BalancedService(Service("api", groups: ["tg", "missing"]), [On(Task("b", service: "api"))]));

        Assert.That(targets.Keys, Is.EquivalentTo(new[] { "tg", "other", "empty" }));
        Assert.That(targets["tg"].Select(t => $"{t.TaskId}/{t.Service}"), Is.EqualTo(new[] { "a/web", "b/api", "c/web" }));
        Assert.That(targets["other"].Select(t => t.TaskId), Is.EqualTo(new[] { "a", "c" }));
        Assert.That(targets["empty"], Is.Empty);
    }

    private static IEnumerable<TestCaseData> Weights()
    {
        // Task sets (id, scale) and the task set of each serving task → each task's weight.
        yield return new TestCaseData(new[] { ("blue", 100.0) }, new[] { "blue", "blue", "blue" }, new[] { 256, 256, 256 }).SetName("one set: all the largest");
        yield return new TestCaseData(new[] { ("blue", 90.0), ("green", 10.0) }, new[] { "blue", "blue", "blue", "green" }, new[] { 256, 256, 256, 85 })
            .SetName("canary at 10 % with one task beside three: a tenth of the traffic");
        yield return new TestCaseData(new[] { ("blue", 50.0), ("green", 50.0) }, new[] { "blue", "blue", "green" }, new[] { 128, 128, 256 })
            .SetName("equal scales: each set half, whatever its task count");
        yield return new TestCaseData(new[] { ("blue", 100.0), ("green", 0.0) }, new[] { "blue", "green" }, new[] { 256, 0 }).SetName("scale 0: weight 0");
        yield return new TestCaseData(new[] { ("blue", 100.0), ("green", 0.1) }, new[] { "blue", "green" }, new[] { 256, 1 }).SetName("a tiny scale above 0: at least 1");
        yield return new TestCaseData(new[] { ("blue", 100.0) }, new[] { "blue", "gone" }, new[] { 256, 0 }).SetName("a set the service no longer has: 0");
    }

    [TestCaseSource(nameof(Weights))]
    public void External_services_weigh_their_targets_by_task_set_scale((string Id, double Scale)[] sets, string[] taskSets, int[] weights)
    {
        var service = Service("web", external: true, deployments: [.. sets.Select(s => Deployment(s.Id, s.Scale))]);
        var tasks = taskSets.Select((set, i) => On(Task($"t{i}", deployment: set))).ToList();

        var targets = Build([Group("tg")], new BalancedService(service, tasks))["tg"];

        Assert.That(targets.Select(t => t.Weight), Is.EqualTo(weights));
    }

    [Test]
    public void Draining_targets_of_an_external_service_weigh_0_and_count_for_none_of_their_set()
    {
        var service = Service("web", external: true, deployments: [Deployment("blue", 50), Deployment("green", 50)]);
        var tasks = new[]
        {
            On(Task("a", deployment: "blue")),
            On(Task("b", deployment: "blue", desired: TaskState.Stopped, drainUntil: Now.AddSeconds(10))),
            On(Task("c", deployment: "green")),
        };

        var targets = Build([Group("tg")], new BalancedService(service, tasks))["tg"];

        Assert.That(targets.Select(t => (t.TaskId, t.Weight, t.Draining)), Is.EqualTo(new[] { ("a", 256, false), ("b", 0, true), ("c", 256, false) }));
    }

    [Test]
    public void Ecs_services_weigh_every_target_100_even_beside_an_external_service_in_the_same_group()
    {
        var external = Service("canary", external: true, deployments: [Deployment("blue", 90), Deployment("green", 10)]);
        var targets = Build(
            [Group("tg")],
            new BalancedService(Service("web"), [On(Task("a")), On(Task("b", desired: TaskState.Stopped, drainUntil: Now.AddSeconds(5)))]),
            new BalancedService(external, [On(Task("c", service: "canary", deployment: "blue")), On(Task("d", service: "canary", deployment: "green"))]))["tg"];

        Assert.That(targets.Select(t => (t.TaskId, t.Weight)), Is.EqualTo(new[] { ("a", 100), ("b", 100), ("c", 256), ("d", 28) }));
    }

    private static IReadOnlyDictionary<string, IReadOnlyList<DerivedTarget>> Build(TargetGroupRecord[] groups, params BalancedService[] services) =>
        TargetsBuilder.Build(new LoadBalancingInputs(groups, services, Now));
}
