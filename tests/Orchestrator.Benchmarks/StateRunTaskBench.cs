using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;
using PlacementStrategy = Orchestrator.Scheduler.Placement.PlacementStrategy;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The RunTask benchmark's work without gRPC: the scheduler's state on a real LiteDB file, 500 nodes,
/// RunTask called directly from one thread and every start answered with a RUNNING report at once
/// (two commits per task: RunTask's and the report's). Side by side with the gRPC figure it shows how
/// much of a RunTask is the state, and how much of that is LiteDB.
/// </summary>
internal static class StateRunTaskBench
{
    /// <summary>Measured twice in one run: each commit flushed to disk (the default) and not (Scheduler:FlushCommits=false).</summary>
    public static void Run(Report report, int nodes, int calls)
    {
        var flushed = Once(report, nodes, calls, flush: true);
        var unflushed = Once(report, nodes, calls, flush: false);
        report.Add("runtask", "the flush on its own: an fdatasync of LiteDB's log per commit, same run",
            $"{flushed.Single / unflushed.Single:P0} of the unflushed tasks/s one by one, {flushed.Grouped / unflushed.Grouped:P0} in groups of 32",
            $"a commit takes {flushed.CommitMs:F3} ms flushed, {unflushed.CommitMs:F3} ms not");
    }

    internal sealed record Figures(double Single, double Grouped, double CommitMs, double GroupedCommitMs);

    private static Figures Once(Report report, int nodes, int calls, bool flush)
    {
        var how = flush ? "commits flushed to disk (the default)" : "Scheduler:FlushCommits=false";
        var directory = Directory.CreateTempSubdirectory("orchestrator-state-bench-").FullName;
        try
        {
            using var inner = LiteDbStateStore.Open(Path.Combine(directory, "bench.db"), flush ? new FsyncCommitFlush() : NoCommitFlush.Instance);
            return Measure(report, nodes, calls, inner, "LiteDB", how);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The state over <paramref name="inner"/>: RunTask one by one, then in groups of 32, each row naming
    /// the store (<paramref name="storeName"/>) and how it runs (<paramref name="how"/>). The state leads
    /// alone (<see cref="SoleLeadership"/>: always the leader, as on LiteDB).
    /// </summary>
    internal static Figures Measure(Report report, int nodes, int calls, IStateStore inner, string storeName, string how)
    {
        var store = new TimedStore(inner);
        var state = new ClusterState(store, TimeProvider.System, new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1, HeartbeatTimeout = TimeSpan.FromHours(1) },
            NullLogger<ClusterState>.Instance, leadership: new SoleLeadership("bench"));
        var sessions = new List<InProcessAgent>();
        for (var i = 0; i < nodes; i++)
        {
            var session = new InProcessAgent($"agent-{i:D4}");
            sessions.Add(session);
            state.RegisterAgent(new AgentRegistration("default", session.Name, 16 * 1024, 64 * 1024, new Dictionary<string, string>(), "bench"), session, []);
        }

        var spec = new Contract.TaskDefinition { Family = "bench" };
        spec.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 256, Memory = 512 });
        state.RegisterTaskDefinition(spec, new TaskResourceDemand(256, 512, []));
        var command = new RunTaskCommand("default", "bench", 1, [new PlacementStrategy(StrategyKind.SpreadNode)], [], "", "", "", "");

        RunCalls(state, sessions, command, calls / 10); // warm-up
        store.Reset();
        var clock = Stopwatch.StartNew();
        RunCalls(state, sessions, command, calls);
        var elapsed = clock.Elapsed;
        var single = calls / elapsed.TotalSeconds;
        var commitMs = store.Elapsed.TotalMilliseconds / store.Count;
        report.Add("runtask", $"RunTask (count 1) on the state alone, no gRPC, {nodes} nodes, one thread, {calls:N0} calls, {how}",
            $"{calls / elapsed.TotalSeconds:N0} tasks/s ({elapsed.TotalMilliseconds / calls:F2} ms per task)",
            $"of which {storeName}: {store.Count:N0} commits of {store.Elapsed.TotalMilliseconds / store.Count:F3} ms ({store.Elapsed / elapsed:P0} of the time)");

        // As the daemon does under load: RunTasks in groups of 32 (the benchmark's concurrent
        // callers), the agents' reports of each group applied as one group too.
        store.Reset();
        clock.Restart();
        RunGroups(state, sessions, command, calls, groupSize: 32);
        elapsed = clock.Elapsed;
        report.Add("runtask", $"the same in groups of 32 (RunTasks and reports as the daemon groups them under load), {how}",
            $"{calls / elapsed.TotalSeconds:N0} tasks/s ({elapsed.TotalMilliseconds / calls:F2} ms per task)",
            $"of which {storeName}: {store.Count:N0} commits of {store.Elapsed.TotalMilliseconds / store.Count:F3} ms ({store.Elapsed / elapsed:P0} of the time)");
        return new Figures(single, calls / elapsed.TotalSeconds, commitMs, store.Elapsed.TotalMilliseconds / store.Count);
    }

    private static void RunCalls(ClusterState state, List<InProcessAgent> sessions, RunTaskCommand command, int calls)
    {
        for (var i = 0; i < calls; i++)
        {
            state.RunTask(command);
            foreach (var session in sessions)
            {
                session.Answer(state);
            }
        }
    }

    private static void RunGroups(ClusterState state, List<InProcessAgent> sessions, RunTaskCommand command, int calls, int groupSize)
    {
        for (var done = 0; done < calls; done += groupSize)
        {
            state.RunTasks([.. Enumerable.Repeat(command, Math.Min(groupSize, calls - done))]);
            state.ApplyReports([.. sessions.SelectMany(session => session.TakeReports())]);
        }
    }

    /// <summary>The store, timing its commits.</summary>
    private sealed class TimedStore(IStateStore inner) : IStateStore
    {
        public TimeSpan Elapsed { get; private set; }

        public int Count { get; private set; }

        public void Reset()
        {
            Elapsed = TimeSpan.Zero;
            Count = 0;
        }

        // etcd's limits on one Txn cut the groups' commits; a store's loss is the inner store's.
        public StoreLimits Limits => inner.Limits;

        public System.Threading.Tasks.Task<StorageException> Lost => inner.Lost;

        public System.Threading.Tasks.Task<StoredState> LoadAsync(CancellationToken cancellationToken = default) => inner.LoadAsync(cancellationToken);

        // The commit timed whole (written and flushed), as one RunTask at a time waits for it.
        public StoreCommit BeginCommit(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default)
        {
            var started = Stopwatch.GetTimestamp();
            var commit = inner.BeginCommit(changes, expectedVersion, cancellationToken);
            var version = commit.Written.GetAwaiter().GetResult();
            commit.Durable.GetAwaiter().GetResult();
            Elapsed += Stopwatch.GetElapsedTime(started);
            Count++;
            return StoreCommit.Done(version);
        }

        public void Dispose()
        {
        }
    }
}
