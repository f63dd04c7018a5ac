using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Tests.State;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;
using StrategyKind = Orchestrator.Scheduler.Placement.StrategyKind;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Storage;

/// <summary>
/// A write the store refuses changes nothing: not the state's memory (what every read answers, the
/// room placement sees), not the store, and nobody hears of it (no watch event, no agent command).
/// The state in process, on the in-memory store failing as a full disk would.
/// </summary>
internal sealed class RefusedCommitTests
{
    private const int NodeMemory = 1024;
    private const int TaskMemory = 512;

    private InMemoryStateStore _store = null!;
    private ClusterState _state = null!;
    private RecordingSession _agent = null!;
    private TaskRecord _running = null!;

    private static RunTaskCommand RunOne() =>
        new("default", "web", 1, [new PlacementStrategy(StrategyKind.BinpackMemory)], [], "", "", "", "");

    [SetUp]
    public void OneNodeHalfFull()
    {
        _store = new InMemoryStateStore();
        _state = new ClusterState(_store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance);
        _agent = new RecordingSession();
        _state.RegisterAgent(new AgentRegistration("default", "n1", 4096, NodeMemory, new Dictionary<string, string>(), "test"), _agent, []);
        var definition = new Orchestrator.Contracts.V1.TaskDefinition { Family = "web" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = TaskMemory });
        _state.RegisterTaskDefinition(definition, new TaskResourceDemand(0, TaskMemory, []));
        _running = _state.RunTask(RunOne()).Tasks.Single();
    }

    /// <summary>What the reads answer and the store holds, as text, to compare before and after.</summary>
    private string Picture()
    {
        var ids = _state.ListTasks("default", "", "", null, "", "");
        var node = _state.DescribeNode("default", "n1")!;
        var stored = _store.LoadAsync().Result;
        return JsonSerializer.Serialize(new
        {
            Clusters = _state.ClusterNames(),
            Tasks = _state.DescribeTasks("default", ids),
            Node = new { node.Record.Status, node.UsedCpu, node.UsedMemory, node.RunningTasks, node.PendingTasks, Ports = node.PortsInUse.Count },
            Stored = stored.Version,
            StoredRecords = stored.AsPuts().Select(c => $"{c.Table.Name}/{c.Key}={StoreJson.Write(c)}"),
        }, StoreJson.Options);
    }

    private void Refused(Action write)
    {
        _store.FailNext = 1;
        var error = Assert.Throws<RequestException>(() => write())!;
        Assert.That(error.Kind, Is.EqualTo(RequestErrorKind.Unavailable));
        Assert.That(_store.FailNext, Is.Zero, "the store was asked, and refused");
    }

    [Test]
    public void Refused_writes_of_every_kind_leave_memory_the_store_and_the_subscribers_as_they_were()
    {
        var (watch, _) = _state.Watch(new TaskWatchFilter("default"), includeExisting: false);
        var sent = _agent.Sent.Count;
        var version = _state.Feed.Version;
        var before = Picture();

        Refused(() => _state.RunTask(RunOne()));
        _store.FailNext = 1;
        var group = _state.RunTasks([RunOne(), RunOne() with { ClientToken = "t", RequestHash = "h" }]);
        Refused(() => _state.StopTask("default", _running.Id, "done"));
        Refused(() => _state.CreateCluster("other"));
        Refused(() => _state.ApplyReports([new AgentReport(NodeRecord.KeyOf("default", "n1"), _agent, new TaskStateReport { Sequence = 1, TaskId = _running.Id, LastStatus = TaskStatus.Running })]));
        Refused(() => _state.DeregisterNode("default", "n1", force: true));
        var after = Picture();

        Assert.Multiple(() =>
        {
            Assert.That(group.Select(r => r.Error?.Kind), Is.All.EqualTo(RequestErrorKind.Unavailable), "the group failed whole");
            Assert.That(after, Is.EqualTo(before));
            Assert.That(watch.Reader.Count, Is.Zero, "no watcher heard of a refused change");
            Assert.That(_agent.Sent, Has.Count.EqualTo(sent), "no agent was told to start or stop anything");
            Assert.That(_state.Feed.Version, Is.EqualTo(version), "nothing was published");
        });
        watch.Dispose();
    }

    [Test]
    public void After_a_refused_write_the_next_one_lands_on_the_room_memory_still_has()
    {
        _store.FailNext = 1;
        var group = _state.RunTasks([RunOne()]);
        var next = _state.RunTasks([RunOne(), RunOne()]);

        Assert.Multiple(() =>
        {
            Assert.That(group.Single().Error?.Kind, Is.EqualTo(RequestErrorKind.Unavailable));
            Assert.That(next[0].Outcome!.Tasks, Has.Count.EqualTo(1), "the refused task took no room: the node's other half is free");
            Assert.That(next[1].Outcome!.Failures.Single().Reason, Is.EqualTo("RESOURCE:MEMORY"), "and then the node is full");
            Assert.That(_state.Feed.Version, Is.EqualTo(_store.LoadAsync().Result.Version), "memory and the store are at the same version: no conflict");
            Assert.That(_agent.Sent.Count(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask), Is.EqualTo(2), "the first task and the one that landed");
        });
    }
}
