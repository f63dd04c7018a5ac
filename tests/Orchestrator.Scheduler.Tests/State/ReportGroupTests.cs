using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>Agents' reports applied as a group: one write for the group, in order, all or nothing.</summary>
internal sealed class ReportGroupTests
{
    private RecordingStore _store = null!;
    private ClusterState _state = null!;
    private RecordingSession _n1 = null!;
    private RecordingSession _n2 = null!;

    [SetUp]
    public void Build()
    {
        _store = new RecordingStore();
        _state = new ClusterState(_store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        _n1 = new RecordingSession();
        _n2 = new RecordingSession();
        _state.RegisterAgent(new AgentRegistration("default", "n1", 4096, 4096, new Dictionary<string, string>(), "test"), _n1, []);
        _state.RegisterAgent(new AgentRegistration("default", "n2", 4096, 4096, new Dictionary<string, string>(), "test"), _n2, []);
        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = "web" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 });
        _state.RegisterTaskDefinition(definition, new TaskResourceDemand(0, 64, []));
    }

    private List<TaskRecord> Run(int count) =>
        [.. _state.RunTask(new RunTaskCommand("default", "web", count, [new Orchestrator.Scheduler.Placement.PlacementStrategy(Orchestrator.Scheduler.Placement.StrategyKind.SpreadNode)], [], "", "", "", "")).Tasks];

    private static AgentReport Report(RecordingSession session, string node, string taskId, TaskStatus status, ulong sequence) =>
        new(NodeRecord.KeyOf("default", node), session, new TaskStateReport { Sequence = sequence, TaskId = taskId, LastStatus = status });

    private TaskRecord Task(string id) => _state.DescribeTasks("default", [id]).Single()!;

    [Test]
    public void Reports_from_several_agents_are_applied_in_order_with_one_write()
    {
        var tasks = Run(2);
        var on1 = tasks.Single(t => t.Node == "n1");
        var on2 = tasks.Single(t => t.Node == "n2");
        _store.Commits.Clear();

        var answers = _state.ApplyReports(
        [
            Report(_n1, "n1", on1.Id, TaskStatus.Running, 1),
            Report(_n2, "n2", on2.Id, TaskStatus.Running, 1),
            Report(_n1, "n1", on1.Id, TaskStatus.Stopped, 2),
            Report(_n2, "n2", "0123456789abcdef0123456789abcdef", TaskStatus.Running, 2),
        ]);

        Assert.Multiple(() =>
        {
            Assert.That(_store.Commits, Has.Count.EqualTo(1), "one write for the group");
            Assert.That(_store.Commits[0].Tasks.Select(t => t.Id), Is.EquivalentTo(new[] { on1.Id, on2.Id }), "each changed task once");
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
        var session = task.Node == "n1" ? _n1 : _n2;
        _store.Refuse = true;

        Assert.Throws<RequestException>(() => _state.ApplyReports([Report(session, task.Node, task.Id, TaskStatus.Running, 1)]));
        Assert.That(Task(task.Id).LastStatus, Is.EqualTo(TaskState.Provisioning), "as RunTask left it");
    }

    [Test]
    public void A_report_from_a_replaced_stream_is_skipped()
    {
        var task = Run(2).Single(t => t.Node == "n1");
        _state.RegisterAgent(new AgentRegistration("default", "n1", 4096, 4096, new Dictionary<string, string>(), "test"), new RecordingSession(), []);

        var answers = _state.ApplyReports([Report(_n1, "n1", task.Id, TaskStatus.Running, 1)]);

        Assert.Multiple(() =>
        {
            Assert.That(answers, Is.EqualTo(new SchedulerMessage?[] { null }));
            Assert.That(Task(task.Id).LastStatus, Is.EqualTo(TaskState.Provisioning), "as RunTask left it");
        });
    }
}
