using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// On etcd, a commit waits a network round trip under the state's lock (ClusterState's commits are
/// synchronous), and meanwhile every call that needs the state (a hundred agents registering at once
/// after a failover) holds a thread-pool thread blocked on that lock. etcd's answers, and the lease's
/// renewals, need pool threads too; the pool adds only one or two a second past its minimum, so a burst
/// of agents starved them until the lease was lost and a commit timed out (measured: 5 of 5 runs with
/// 50 to 200 agents, by ./build.sh bench etcd). A minimum of 512 threads lets the pool hand them out at
/// once (3 of 3 runs survived 200 agents). The lasting fix is an asynchronous commit path, so that a
/// slow round trip holds no thread; until then, this. LiteDB's commits do not need the pool to finish.
/// </summary>
internal static class EtcdThreadPool
{
    public const int MinimumThreads = 512;

    public static void Widen(IConfiguration configuration)
    {
        if (!string.Equals(configuration[$"{SchedulerOptions.Section}:{nameof(SchedulerOptions.Store)}"], StoreKinds.Etcd, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, MinimumThreads), Math.Max(io, MinimumThreads));
    }
}
