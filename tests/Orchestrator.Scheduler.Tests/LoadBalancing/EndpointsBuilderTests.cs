using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.LoadBalancing;
using static Orchestrator.Scheduler.Tests.LoadBalancing.LoadBalancingFixtures;

namespace Orchestrator.Scheduler.Tests.LoadBalancing;

internal sealed class EndpointsBuilderTests
{
    private static IEnumerable<TestCaseData> Health()
    {
        // task health, its definition has a check, the balancers' verdicts per group → endpoint health
        yield return new TestCaseData(HealthState.Unknown, false, Array.Empty<TargetVerdict>(), "UNKNOWN").SetName("no check, no balancer: unknown");
        yield return new TestCaseData(HealthState.Healthy, true, Array.Empty<TargetVerdict>(), "HEALTHY").SetName("container healthy, no balancer: healthy");
        yield return new TestCaseData(HealthState.Unhealthy, true, Array.Empty<TargetVerdict>(), "UNHEALTHY").SetName("container unhealthy: unhealthy");
        yield return new TestCaseData(HealthState.Unknown, false, new[] { TargetVerdict.Healthy }, "HEALTHY").SetName("no check, balancers healthy: healthy");
        yield return new TestCaseData(HealthState.Unknown, true, new[] { TargetVerdict.Healthy }, "UNKNOWN").SetName("check not yet passed, balancers healthy: unknown");
        yield return new TestCaseData(HealthState.Healthy, true, new[] { TargetVerdict.Healthy, TargetVerdict.Initial }, "UNKNOWN").SetName("one group still initial: unknown");
        yield return new TestCaseData(HealthState.Healthy, true, new[] { TargetVerdict.Healthy, TargetVerdict.Unhealthy }, "UNHEALTHY").SetName("one group unhealthy: unhealthy");
        yield return new TestCaseData(HealthState.Healthy, true, new[] { TargetVerdict.Unknown }, "UNKNOWN").SetName("no balancer reports: unknown");
    }

    [TestCaseSource(nameof(Health))]
    public void Health_is_the_containers_and_the_balancers_together(HealthState health, bool healthChecked, TargetVerdict[] verdicts, string expected) =>
        Assert.That(EndpointsBuilder.HealthOf(On(Task("a", health: health), healthChecked: healthChecked), verdicts), Is.EqualTo(expected));

    [Test]
    public void Every_running_task_desired_running_gives_one_endpoint_per_binding_healthy_only_filters()
    {
        var plain = Service("web", groups: []);
        var tasks = new[]
        {
            On(Task("a", port: 49153)),
            On(Task("b", port: 49154, bindIp: "127.0.0.1", node: "n2"), host: "10.0.0.2"),
            On(Task("c", last: TaskState.Pending)),
            On(Task("d", desired: TaskState.Stopped, drainUntil: Now.AddSeconds(9))),
            On(Task("e", port: 49155, health: HealthState.Unknown), healthChecked: true),
        };

        var all = EndpointsBuilder.Build(new BalancedService(plain, tasks), (_, _) => TargetVerdict.Unknown, healthyOnly: false);
        var healthy = EndpointsBuilder.Build(new BalancedService(plain, tasks), (_, _) => TargetVerdict.Unknown, healthyOnly: true);

        Assert.That(all.Select(e => $"{e.TaskId} {e.Node} {e.Host}:{e.Port} {e.ContainerName}/{e.ContainerPort}/{e.Protocol} {e.Health} {e.TaskSet}"), Is.EqualTo(new[]
        {
            "a n1 10.0.0.1:49153 app/80/tcp UNKNOWN d1",
            "b n2 127.0.0.1:49154 app/80/tcp UNKNOWN d1",
            "e n1 10.0.0.1:49155 app/80/tcp UNKNOWN d1",
        }));
        Assert.That(healthy.Select(e => e.TaskId), Is.EqualTo(new[] { "a", "b" }), "unchecked tasks' UNKNOWN endpoints stay; a checked one not yet healthy does not");
    }

    [Test]
    public void Behind_a_balancer_healthy_only_keeps_the_tasks_the_balancers_find_healthy()
    {
        var service = Service("web");
        var tasks = new[] { On(Task("a")), On(Task("b", port: 49154)) };

        var healthy = EndpointsBuilder.Build(new BalancedService(service, tasks), (group, id) => group == "tg" && id == "a" ? TargetVerdict.Healthy : TargetVerdict.Initial, healthyOnly: true);

        Assert.That(healthy.Select(e => (e.TaskId, e.Health)), Is.EqualTo(new[] { ("a", "HEALTHY") }));
    }
}
