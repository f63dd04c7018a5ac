using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Services;

namespace Orchestrator.Scheduler.Tests.Services;

internal sealed class DaemonReconcilerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static int _ids;

    private static ServiceRecord Daemon(bool rolling = false) => new()
    {
        Cluster = "default",
        Name = "agentd",
        Daemon = true,
        DesiredCount = 0,
        Strategies = [],
        Constraints = [],
        MinimumHealthyPercent = 0,
        MaximumPercent = 100,
        Deployments = rolling
            ? [new("new", "d:2", DeploymentStatus.Primary, RolloutState.InProgress, "", 0, Now, Now), new("old", "d:1", DeploymentStatus.Active, RolloutState.Completed, "", 0, Now, Now)]
            : [new("new", "d:2", DeploymentStatus.Primary, RolloutState.InProgress, "", 0, Now, Now)],
        CreatedAt = Now,
    };

    private static ServiceTaskView On(string node, string deployment = "new", bool draining = false) => new(new TaskRecord
    {
        Id = $"{++_ids:D32}", Cluster = "default", TaskDefinitionArn = "d:2", Family = "d", Revision = 2, Node = node,
        LastStatus = TaskState.Running, DesiredStatus = TaskState.Running, Containers = [], Group = "service:agentd",
        Service = "agentd", Deployment = deployment, Cpu = 1, Memory = 1, CreatedAt = Now,
    }, draining, true);

    private static HashSet<string> Nodes(params string[] names) => [.. names];

    [Test]
    public void Starts_one_task_on_each_wanted_node_that_has_none_and_can_take_it()
    {
        var plan = DaemonReconciler.Plan(Daemon(), [On("a")], Nodes("a", "b", "c"), Nodes("a", "b"));
        Assert.That((plan.StartOnNodes, plan.Stops.Count, plan.RolloutComplete), Is.EqualTo((new[] { "b" }, 0, false)));
    }

    [Test]
    public void Stops_tasks_on_nodes_it_should_not_run_on_and_extra_tasks()
    {
        var extra = On("a");
        var draining = On("d", draining: true);
        var plan = DaemonReconciler.Plan(Daemon(), [On("a"), extra, draining], Nodes("a"), Nodes("a"));
        Assert.That(plan.Stops.Select(s => s.Reason).Order(), Is.EqualTo(new[] { "Node is draining", "Service scaled in" }));
    }

    [Test]
    public void A_new_deployment_replaces_node_by_node_old_first()
    {
        var first = DaemonReconciler.Plan(Daemon(rolling: true), [On("a", "old"), On("b", "old")], Nodes("a", "b"), Nodes("a", "b"));
        var second = DaemonReconciler.Plan(Daemon(rolling: true), [], Nodes("a", "b"), Nodes("a", "b"));
        Assert.Multiple(() =>
        {
            Assert.That((first.Stops.Count, first.StartOnNodes.Count), Is.EqualTo((2, 0)), "old tasks go first");
            Assert.That(second.StartOnNodes, Is.EqualTo(new[] { "a", "b" }));
        });
    }

    private static ServiceTaskView Protected(string node, string deployment = "new") => On(node, deployment) with { Protected = true };

    [Test]
    public void A_protected_task_of_the_old_deployment_is_not_replaced_until_its_protection_ends()
    {
        var kept = Protected("a", "old");
        var replaced = On("b", "old");
        var first = DaemonReconciler.Plan(Daemon(rolling: true), [kept, replaced], Nodes("a", "b"), Nodes("a", "b"));
        var second = DaemonReconciler.Plan(Daemon(rolling: true), [kept], Nodes("a", "b"), Nodes("a", "b"));
        var expired = DaemonReconciler.Plan(Daemon(rolling: true), [kept with { Protected = false }, On("b")], Nodes("a", "b"), Nodes("a", "b"));
        Assert.Multiple(() =>
        {
            Assert.That(first.Stops.Select(s => (s.TaskId, s.Reason)), Is.EqualTo(new[] { (replaced.Task.Id, "Replaced by a newer deployment") }), "only the unprotected old task goes");
            Assert.That((first.StartOnNodes.Count, first.RolloutComplete), Is.EqualTo((0, false)));
            Assert.That((second.Stops.Count, second.StartOnNodes, second.RolloutComplete), Is.EqualTo((0, new[] { "b" }, false)), "the new task starts where the old one went, not beside the protected one");
            Assert.That(expired.Stops.Select(s => s.TaskId), Is.EqualTo(new[] { kept.Task.Id }), "once the protection is over it is replaced");
        });
    }

    [Test]
    public void Of_two_tasks_on_one_node_the_unprotected_one_is_stopped_and_the_protected_kept()
    {
        var unprotected = On("a");
        var kept = Protected("a");
        var plan = DaemonReconciler.Plan(Daemon(), [unprotected, kept], Nodes("a"), Nodes("a"));
        Assert.That(plan.Stops.Select(s => (s.TaskId, s.Reason)), Is.EqualTo(new[] { (unprotected.Task.Id, "Service scaled in") }));
    }

    [Test]
    public void Two_protected_tasks_on_one_node_both_stay_and_the_rollout_is_not_complete()
    {
        var plan = DaemonReconciler.Plan(Daemon(), [Protected("a"), Protected("a")], Nodes("a"), Nodes("a"));
        Assert.That((plan.Stops.Count, plan.StartOnNodes.Count, plan.RolloutComplete), Is.EqualTo((0, 0, false)));
    }

    [Test]
    public void Steady_when_every_wanted_node_runs_one_healthy_task()
    {
        var plan = DaemonReconciler.Plan(Daemon(), [On("a"), On("b")], Nodes("a", "b"), Nodes("a", "b"));
        Assert.That(plan.RolloutComplete, Is.True);
    }
}
