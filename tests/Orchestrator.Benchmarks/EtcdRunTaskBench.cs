using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>
/// RunTask with the state in etcd (Scheduler:Store=etcd) against LiteDB, both in the same run: on a
/// real three-member etcd (<see cref="EtcdCluster"/>, members on this host, each fsyncing its own WAL),
/// (a) the state alone, as <see cref="StateRunTaskBench"/> measures it for LiteDB, one by one and in
/// groups of 32; (b) over gRPC, a scheduler process that won the election against one on LiteDB, as
/// <see cref="RunTaskBench"/> measures it (cleartext, simulated agents answering at once).
/// </summary>
/// <remarks>
/// In (a) the state leads alone (<see cref="Orchestrator.Scheduler.HA.SoleLeadership"/>) over an
/// <see cref="EtcdStateStore"/> without a fence: each commit is the Txn a leader sends minus the one
/// compare of its election key, which etcd checks in the same Txn at no extra round trip. (b) runs
/// the real thing: the scheduler's EtcdLeadership leads and fences every commit.
/// </remarks>
internal static class EtcdRunTaskBench
{
    public static async Task RunAsync(Report report, int nodes, int stateCalls, int agents, int grpcCalls, int concurrency)
    {
        using var etcd = await EtcdCluster.StartAsync(3);
        Console.Error.WriteLine($"etcd: 3 members at {etcd.Endpoints}");

        var liteDb = StateOnLiteDb(report, nodes, stateCalls);
        var onEtcd = StateOnEtcd(report, nodes, stateCalls, etcd.Endpoints);
        report.Add("etcd", $"the state alone, etcd against LiteDB (flushed), same run, {stateCalls:N0} calls",
            $"{onEtcd.Single / liteDb.Single:P0} of LiteDB's tasks/s one by one, {onEtcd.Grouped / liteDb.Grouped:P0} in groups of 32",
            $"a commit takes {onEtcd.CommitMs:F2} ms on etcd, {liteDb.CommitMs:F2} ms on LiteDB one by one; {onEtcd.GroupedCommitMs:F2} ms / {liteDb.GroupedCommitMs:F2} ms in groups");

        // Both as shipped: the scheduler on etcd starts with a thread pool of at least 512 threads of its
        // own (HA/EtcdThreadPool: without it, a hundred agents connecting at once starved etcd's answers
        // and the leader lost its lease), LiteDB's with the runtime's default.
        var liteDbRun = await RunTaskBench.OnceAsync(secure: false, agents, grpcCalls, concurrency);
        var etcdRun = await RunTaskBench.OnceAsync(secure: false, agents, grpcCalls, concurrency, settings:
            ["--Scheduler:Store=etcd", $"--Scheduler:Etcd:Endpoints={etcd.Endpoints}", "--Scheduler:Etcd:Prefix=/bench/runtask"]);

        const string pool = "as shipped";
        foreach (var (run, how) in new[] { (liteDbRun, "LiteDB (commits flushed)"), (etcdRun, "etcd, 3 members, the elected leader") })
        {
            report.Add("etcd", $"RunTask (count 1) over gRPC, {how}, cleartext, {pool}, {agents} agents, {concurrency} concurrent callers, {grpcCalls:N0} calls",
                $"{run.RunTask.PerSecond:N0} tasks/s, p50 {run.RunTask.P50:F2} ms, p99 {run.RunTask.P99:F2} ms",
                $"DescribeClusters: {run.Baseline.PerSecond:N0} calls/s, p50 {run.Baseline.P50:F2} ms; {run.Running:N0} of {run.Expected:N0} tasks RUNNING; {run.RunTask.Cpu}");
        }

        report.Add("etcd", "RunTask over gRPC, etcd against LiteDB, same run",
            $"{etcdRun.RunTask.PerSecond / liteDbRun.RunTask.PerSecond:P0} of LiteDB's tasks/s",
            $"p50 {etcdRun.RunTask.P50 / liteDbRun.RunTask.P50:F2}×, p99 {etcdRun.RunTask.P99 / liteDbRun.RunTask.P99:F2}× LiteDB's latency");
    }

    private static StateRunTaskBench.Figures StateOnLiteDb(Report report, int nodes, int calls)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-state-bench-").FullName;
        try
        {
            using var store = LiteDbStateStore.Open(Path.Combine(directory, "bench.db"), new FsyncCommitFlush());
            return StateRunTaskBench.Measure(report, nodes, calls, store, "LiteDB", "LiteDB, commits flushed (the baseline)");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static StateRunTaskBench.Figures StateOnEtcd(Report report, int nodes, int calls, string endpoints)
    {
        var options = new EtcdOptions { Endpoints = endpoints, Prefix = "/bench/state" };
        using var connection = EtcdClientFactory.Create(options);
        using var store = new EtcdStateStore(connection.Client, options);
        return StateRunTaskBench.Measure(report, nodes, calls, store, "etcd", "etcd, 3 members, no fence, always leader");
    }
}
