using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.LoadBalancing;
using Orchestrator.Scheduler.Tests.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Tests.LoadBalancing;

/// <summary>When a stop waits for draining and when it is released; what the balancers' verdicts make of a task: pure tables.</summary>
internal sealed class DrainRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly TaskRecord Running = TaskReportsTests.NewTask(TaskState.Running, TaskState.Running);

    private static IEnumerable<TestCaseData> Holds()
    {
        TestCaseData Case(string name, TaskRecord task, int[] delays, int? heldSeconds) =>
            new TestCaseData(task, delays).Returns(heldSeconds).SetName(name);

        yield return Case("a RUNNING task of a balanced service drains for its group's delay", Running, [30], 30);
        yield return Case("the longest delay of its groups counts", Running, [30, 120, 5], 120);
        yield return Case("a delay of 0 s drains nothing", Running, [0], null);
        yield return Case("a task of a service without load balancers is not held", Running, [], null);
        yield return Case("a task still PENDING was never a target", Running with { LastStatus = TaskState.Pending }, [30], null);
        yield return Case("a task PROVISIONING was never a target", Running with { LastStatus = TaskState.Provisioning }, [30], null);
        yield return Case("a task already STOPPING is not held again", Running with { LastStatus = TaskState.Stopping }, [30], null);
        yield return Case("a task already STOPPED is gone", Running with { LastStatus = TaskState.Stopped }, [30], null);
        yield return Case("a task already asked to stop is not held anew", Running with { DesiredStatus = TaskState.Stopped }, [30], null);
    }

    [TestCaseSource(nameof(Holds))]
    public int? A_stop_is_held(TaskRecord task, int[] delays) =>
        DrainRules.HoldUntil(task, delays.Select(d => TimeSpan.FromSeconds(d)), Now) is { } until ? (int)(until - Now).TotalSeconds : null;

    private static IEnumerable<TestCaseData> Releases()
    {
        TestCaseData Case(string name, TaskRecord task, DrainProgress progress, bool released) =>
            new TestCaseData(task, progress).Returns(released).SetName(name);

        var draining = Running with { DesiredStatus = TaskState.Stopped, DrainUntil = Now.AddSeconds(30) };
        yield return Case("held before its deadline, connections left", draining, new DrainProgress(3, Drained: false), false);
        yield return Case("held before its deadline with no balancer report", draining, default, false);
        yield return Case("released at its deadline", draining with { DrainUntil = Now }, new DrainProgress(3, Drained: false), true);
        yield return Case("released after its deadline (a new leader late)", draining with { DrainUntil = Now.AddSeconds(-90) }, default, true);
        yield return Case("released at once when every balancer reports it drained", draining, new DrainProgress(0, Drained: true), true);
        yield return Case("released once it STOPPED on its own", draining with { LastStatus = TaskState.Stopped }, default, true);
        yield return Case("released when it is desired RUNNING again", draining with { DesiredStatus = TaskState.Running }, default, true);
        yield return Case("a task without a hold has nothing to release", Running with { DesiredStatus = TaskState.Stopped }, new DrainProgress(0, Drained: true), false);
    }

    [TestCaseSource(nameof(Releases))]
    public bool A_hold_is_released(TaskRecord task, DrainProgress progress) => DrainRules.Releases(task, progress, Now);

    private static IEnumerable<TestCaseData> Verdicts()
    {
        TestCaseData Case(string name, TaskRecord task, string[] groups, TargetVerdict[] verdicts, bool healthy, string? failed) =>
            new TestCaseData(task, groups, verdicts).Returns((healthy, failed)).SetName(name);

        yield return Case("healthy in its one group", Running, ["a"], [TargetVerdict.Healthy], true, null);
        yield return Case("healthy only when healthy in every group", Running, ["a", "b"], [TargetVerdict.Healthy, TargetVerdict.Initial], false, null);
        yield return Case("healthy in all its groups", Running, ["a", "b"], [TargetVerdict.Healthy, TargetVerdict.Healthy], true, null);
        yield return Case("not yet checked (initial) is not healthy and not failed", Running, ["a"], [TargetVerdict.Initial], false, null);
        yield return Case("unknown (no balancer) is not healthy and never failed", Running, ["a"], [TargetVerdict.Unknown], false, null);
        yield return Case("unhealthy in a group fails it there", Running, ["a", "b"], [TargetVerdict.Healthy, TargetVerdict.Unhealthy], false, "b");
        yield return Case("the first group it fails in is named", Running, ["a", "b"], [TargetVerdict.Unhealthy, TargetVerdict.Unhealthy], false, "a");
        yield return Case("a task not RUNNING is never failed by a stale verdict", Running with { LastStatus = TaskState.Pending }, ["a"], [TargetVerdict.Unhealthy], false, null);
        yield return Case("a service without load balancers is not gated", Running, [], [], true, null);
    }

    [TestCaseSource(nameof(Verdicts))]
    public (bool Healthy, string? Failed) What_the_balancers_make_of_a_task(TaskRecord task, string[] groups, TargetVerdict[] verdicts)
    {
        var specs = groups.Select(g => new LoadBalancerSpec(g, "app", 80)).ToList();
        return BalancerHealth.Of(specs, task, group => verdicts[Array.IndexOf(groups, group)]);
    }

    private static IEnumerable<TestCaseData> WireStatuses()
    {
        TestCaseData Case(string name, TaskRecord task, Contract.TaskStatus status) => new TestCaseData(task).Returns(status).SetName(name);

        var stopping = Running with { DesiredStatus = TaskState.Stopped };
        yield return Case("a RUNNING task is RUNNING", Running, Contract.TaskStatus.Running);
        yield return Case("a RUNNING task asked to stop without draining is RUNNING until its agent stops it", stopping, Contract.TaskStatus.Running);
        yield return Case("a RUNNING task whose stop is held is DEACTIVATING", stopping with { DrainUntil = Now }, Contract.TaskStatus.Deactivating);
        yield return Case("released, it stays DEACTIVATING until its agent reports STOPPING", stopping with { DrainedAt = Now }, Contract.TaskStatus.Deactivating);
        yield return Case("then STOPPING", stopping with { LastStatus = TaskState.Stopping, DrainedAt = Now }, Contract.TaskStatus.Stopping);
        yield return Case("and STOPPED", stopping with { LastStatus = TaskState.Stopped, DrainedAt = Now }, Contract.TaskStatus.Stopped);
    }

    [TestCaseSource(nameof(WireStatuses))]
    public Contract.TaskStatus The_last_status_on_the_wire(TaskRecord task) => TaskMapper.ToContract(task).LastStatus;
}
