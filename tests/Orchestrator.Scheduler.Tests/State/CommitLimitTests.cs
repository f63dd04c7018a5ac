using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;
using StrategyKind = Orchestrator.Scheduler.Placement.StrategyKind;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>
/// A store that limits a commit (etcd: 128 operations, 1.5 MiB by default) gets groups cut to fit, on
/// the boundaries of what one call or one report writes, never through them.
/// </summary>
internal sealed class CommitLimitTests
{
    // (changes, bytes) of each unit, the limits, and the run sizes expected.
    private static readonly object[] Cuts =
    [
        new object[] { new[] { (1, 10), (1, 10), (1, 10) }, StoreLimits.None, new[] { 3 } },
        new object[] { new[] { (1, 10), (1, 10), (1, 10) }, new StoreLimits(2, 1000), new[] { 2, 1 } },
        new object[] { new[] { (3, 10), (3, 10), (3, 10) }, new StoreLimits(6, 1000), new[] { 2, 1 } },
        new object[] { new[] { (3, 10), (3, 10), (3, 10) }, new StoreLimits(5, 1000), new[] { 1, 1, 1 } },
        new object[] { new[] { (1, 600), (1, 600), (1, 300) }, new StoreLimits(100, 1000), new[] { 1, 2 } },
        new object[] { new[] { (9, 10), (1, 10) }, new StoreLimits(5, 1000), new[] { 1, 1 } }, // too large alone: the store says so
        new object[] { Array.Empty<(int, int)>(), new StoreLimits(5, 1000), Array.Empty<int>() },
    ];

    [TestCaseSource(nameof(Cuts))]
    public void Groups_are_cut_where_the_next_unit_would_not_fit((int Changes, int Bytes)[] units, StoreLimits limits, int[] runs)
    {
        var cut = CommitChunks.Split(units, limits, u => u.Changes, u => u.Bytes);

        Assert.That(cut.Select(r => r.Count), Is.EqualTo(runs));
        Assert.That(cut.SelectMany(r => r), Is.EqualTo(units), "every unit once, in order");
    }

    [Test]
    public void A_RunTask_group_over_the_limit_is_committed_in_runs_of_whole_requests()
    {
        var cluster = new TwoNodeState(nodeMemory: 4096, family: "web", taskMemory: 64);
        cluster.Store.Limits = new StoreLimits(5, int.MaxValue);

        // Each request writes two tasks and its receipt: three changes, so one request per commit.
        var results = cluster.State.RunTasks([.. Enumerable.Range(0, 4).Select(i => Run(2, $"token-{i}"))]);

        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => r.Error), Is.All.Null);
            Assert.That(cluster.Store.Commits, Has.Count.EqualTo(4));
            foreach (var (result, commit) in results.Zip(cluster.Store.Commits))
            {
                Assert.That(commit.Tasks.Select(t => t.Id), Is.EquivalentTo(result.Outcome!.Tasks.Select(t => t.Id)), "a request's tasks are in one commit");
                Assert.That(commit.Receipts, Has.Count.EqualTo(1), "with its receipt");
            }
        });
    }

    [Test]
    public void A_request_too_large_for_one_commit_fails_alone_and_the_rest_of_its_group_is_saved()
    {
        var cluster = new TwoNodeState(nodeMemory: 4096, family: "web", taskMemory: 64);
        cluster.Store.Limits = new StoreLimits(5, int.MaxValue);

        var results = cluster.State.RunTasks([Run(1, "small"), Run(6, "large"), Run(1, "small-too")]);

        Assert.Multiple(() =>
        {
            Assert.That(results[0].Error, Is.Null);
            Assert.That(results[1].Error?.Kind, Is.EqualTo(RequestErrorKind.Unavailable));
            Assert.That(results[2].Error, Is.Null);
            Assert.That(cluster.State.ListTasks("default", "", "", null, "", ""), Has.Count.EqualTo(2), "nothing of the large request is in memory");
        });
    }

    [Test]
    public void A_report_group_over_the_limit_is_committed_in_runs()
    {
        var cluster = new TwoNodeState(nodeMemory: 4096, family: "web", taskMemory: 64);
        var tasks = cluster.State.RunTask(Run(6, "")).Tasks;
        cluster.Store.Commits.Clear();
        cluster.Store.Limits = new StoreLimits(4, int.MaxValue);

        cluster.State.ApplyReports([.. tasks.Select(t => new AgentReport(NodeRecord.KeyOf("default", t.Node!), t.Node == "n1" ? cluster.N1 : cluster.N2,
            new TaskStateReport { Sequence = 1, TaskId = t.Id, LastStatus = TaskStatus.Running }))]);

        Assert.Multiple(() =>
        {
            Assert.That(cluster.Store.Commits, Has.Count.EqualTo(3), "two reports per commit: each may add a task and an event");
            Assert.That(tasks.Select(t => cluster.Task(t.Id).LastStatus), Is.All.EqualTo(TaskState.Running));
        });
    }

    [Test]
    public void A_service_pass_that_starts_more_tasks_than_one_commit_holds_writes_them_in_runs()
    {
        var cluster = new TwoNodeState(nodeMemory: 4096, family: "web", taskMemory: 64);
        cluster.Store.Limits = new StoreLimits(5, int.MaxValue);

        // Creating the service runs its first pass at once.
        cluster.State.CreateService(new ServiceDefinition("default", "web", "web", 12, [], [], 100, 200, 0, CircuitBreaker: false, Rollback: false, Daemon: false));
        cluster.State.ReconcileServices();

        Assert.Multiple(() =>
        {
            Assert.That(cluster.Store.Commits.Select(c => c.ToChangeSet().Count), Is.All.LessThanOrEqualTo(5), "each within the limit");
            Assert.That(cluster.Store.Commits.Sum(c => c.Tasks.Count), Is.EqualTo(12));
            Assert.That(cluster.State.ListTasks("default", "", "", null, "", ""), Has.Count.EqualTo(12), "memory holds every run");
        });
    }

    private static RunTaskCommand Run(int count, string token) =>
        new("default", "web", count, [new PlacementStrategy(StrategyKind.SpreadNode)], [], "", "", token, token.Length > 0 ? $"hash-{token}" : "");
}
