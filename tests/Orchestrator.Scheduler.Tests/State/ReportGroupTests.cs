using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>Agents' reports applied as a group: one write for the group, in order, all or nothing.</summary>
internal sealed class ReportGroupTests
{
    private TwoNodeState _cluster = null!;

    [SetUp]
    public void Build() => _cluster = new TwoNodeState(nodeMemory: 4096, family: "web", taskMemory: 64);

    private List<TaskRecord> Run(int count) =>
        [.. _cluster.State.RunTask(new RunTaskCommand("default", "web", count, [new Orchestrator.Scheduler.Placement.PlacementStrategy(Orchestrator.Scheduler.Placement.StrategyKind.SpreadNode)], [], "", "", "", "")).Tasks];

    private static AgentReport Report(RecordingSession session, string node, string taskId, TaskStatus status, ulong sequence) =>
        new(NodeRecord.KeyOf("default", node), session, new TaskStateReport { Sequence = sequence, TaskId = taskId, LastStatus = status });

    private TaskRecord Task(string id) => _cluster.Task(id);

    [Test]
    public void Reports_from_several_agents_are_applied_in_order_with_one_write()
    {
        var tasks = Run(2);
        var on1 = tasks.Single(t => t.Node == "n1");
        var on2 = tasks.Single(t => t.Node == "n2");
        _cluster.Store.Commits.Clear();

        var answers = _cluster.State.ApplyReports(
        [
            Report(_cluster.N1, "n1", on1.Id, TaskStatus.Running, 1),
            Report(_cluster.N2, "n2", on2.Id, TaskStatus.Running, 1),
            Report(_cluster.N1, "n1", on1.Id, TaskStatus.Stopped, 2),
            Report(_cluster.N2, "n2", "0123456789abcdef0123456789abcdef", TaskStatus.Running, 2),
        ]);

        Assert.Multiple(() =>
        {
            Assert.That(_cluster.Store.Commits, Has.Count.EqualTo(1), "one write for the group");
            Assert.That(_cluster.Store.Commits[0].Tasks.Select(t => t.Id), Is.EquivalentTo(new[] { on1.Id, on2.Id }), "each changed task once");
            Assert.That(Task(on1.Id).LastStatus, Is.EqualTo(TaskState.Stopped), "the later report of the group wins");
            Assert.That(Task(on2.Id).LastStatus, Is.EqualTo(TaskState.Running));
            Assert.That(answers[..3], Is.All.Null);
            Assert.That(answers[3]?.StopTask?.TaskId, Is.EqualTo("0123456789abcdef0123456789abcdef"), "a task the scheduler does not know is told to stop");
        });
    }

    [Test]
    public void A_group_the_store_refuses_changes_nothing()
    {
        var task = Run(1).Single();
        var session = task.Node == "n1" ? _cluster.N1 : _cluster.N2;
        _cluster.Store.Refuse = true;

        Assert.Throws<RequestException>(() => _cluster.State.ApplyReports([Report(session, task.Node, task.Id, TaskStatus.Running, 1)]));
        Assert.That(Task(task.Id).LastStatus, Is.EqualTo(TaskState.Provisioning), "as RunTask left it");
    }

    [Test]
    public void A_report_from_a_replaced_stream_is_skipped()
    {
        var task = Run(2).Single(t => t.Node == "n1");
        _cluster.State.RegisterAgent(new AgentRegistration("default", "n1", 4096, 4096, new Dictionary<string, string>(), "test"), new RecordingSession(), []);

        var answers = _cluster.State.ApplyReports([Report(_cluster.N1, "n1", task.Id, TaskStatus.Running, 1)]);

        Assert.Multiple(() =>
        {
            Assert.That(answers, Is.EqualTo(new SchedulerMessage?[] { null }));
            Assert.That(Task(task.Id).LastStatus, Is.EqualTo(TaskState.Provisioning), "as RunTask left it");
        });
    }

    [Test]
    public void A_registration_whose_reports_the_store_refuses_leaves_the_node_without_a_session()
    {
        var task = Run(2).Single(t => t.Node == "n1");
        _cluster.State.Disconnect(NodeRecord.KeyOf("default", "n1"), _cluster.N1);
        _cluster.Store.Refuse = true;

        Assert.Throws<RequestException>(() => _cluster.State.RegisterAgent(
            new AgentRegistration("default", "n1", 4096, 4096, new Dictionary<string, string>(), "test"),
            new RecordingSession(),
            [new TaskStateReport { TaskId = task.Id, LastStatus = TaskStatus.Running }]));

        Assert.Multiple(() =>
        {
            Assert.That(_cluster.State.IsNodeConnected("default", "n1"), Is.False, "no half-registered node");
            Assert.That(Task(task.Id).LastStatus, Is.EqualTo(TaskState.Provisioning), "the report was not applied");
        });
    }
}
