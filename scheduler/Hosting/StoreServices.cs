using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Telemetry;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Which store the scheduler keeps its state in: one call in the composition root, so that another
/// store (etcd, next) is another method here and nothing else in the wiring changes.
/// </summary>
internal static class StoreServices
{
    /// <summary>The state in the LiteDB file at Scheduler:DataPath, each commit flushed unless Scheduler:FlushCommits is false.</summary>
    public static IServiceCollection AddLiteDbStore(this IServiceCollection services)
    {
        services.AddSingleton<IStateStore>(sp =>
        {
            // The directory's lock first, so a second scheduler stops before it opens (or creates) anything;
            // created first, the container disposes it last, after the store is closed.
            _ = sp.GetRequiredService<DataDirectoryLock>();
            return LiteDbStateStore.Open(sp.GetRequiredService<SchedulerOptions>().DataPath, sp.GetRequiredService<ICommitFlush>(),
                sp.GetRequiredService<SchedulerMeter>().StoreFlushed);
        });
        services.AddSingleton<ICommitFlush>(sp => sp.GetRequiredService<SchedulerOptions>().FlushCommits ? new FsyncCommitFlush() : NoCommitFlush.Instance);
        return services;
    }

    /// <summary>The state's change feed, for the parts that act on commits (they subscribe at start).</summary>
    public static IServiceCollection AddChangeFeed(this IServiceCollection services) =>
        services.AddSingleton(sp => sp.GetRequiredService<ClusterState>().Feed);
}
