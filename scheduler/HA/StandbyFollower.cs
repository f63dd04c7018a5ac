using dotnet_etcd;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// A standby's half of the failover: from the revision its state was loaded at, it applies every commit
/// the leader makes, as etcd's watch delivers them, so its memory is warm; once elected, it waits until
/// it has applied the store's last commit (the old leader is fenced by then, so none can follow), stops
/// watching and takes over (<see cref="ClusterState.TakeOver"/>). A watch that breaks is read again from
/// the last commit applied; one that cannot be (history compacted past it), or a commit missed, stops
/// the scheduler with exit code 5, and its restart loads the state afresh.
/// </summary>
internal sealed partial class StandbyFollower(
    ClusterState state,
    Security.SecurityBootstrap bootstrap,
    EtcdStateStore store,
    EtcdClient client,
    SchedulerOptions options,
    ILeadership leadership,
    SchedulerExit exit,
    ILogger<StandbyFollower> log) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var following = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var follow = FollowAsync(store.LoadedRevision, following.Token);
        try
        {
            var first = await Task.WhenAny(follow, leadership.Elected.WaitAsync(stoppingToken));
            if (first == follow)
            {
                await follow; // Throws what broke it.
                return;
            }

            await first;
            await CatchUpAsync(stoppingToken);
            following.Cancel();
            await follow.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            state.TakeOver();

            // A new cluster's first leader makes its tokens; later leaders find them in the store.
            bootstrap.EnsureTokens();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // Whatever broke (the watch, a missed commit, a catch-up too slow, the takeover's first
            // commits refused): this process cannot lead or follow safely; its restart loads afresh.
            LogBroken(log, e.Message, SchedulerExit.LeadershipLost);
            exit.StopWith(SchedulerExit.LeadershipLost);
        }
    }

    /// <summary>Applies the leader's commits until cancelled; a broken watch is read again from the last commit applied.</summary>
    private async Task FollowAsync(long loadedRevision, CancellationToken cancellationToken)
    {
        var watch = new EtcdCommitWatch(client, options.Etcd.Prefix);
        var revision = loadedRevision;
        var caughtUp = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var commit in watch.ReadAsync(revision + 1, cancellationToken))
                {
                    state.ApplyReplicated(commit.Version, commit.Changes);
                    revision = commit.Revision;
                    if (!caughtUp)
                    {
                        caughtUp = true;
                        LogFollowing(log, commit.Version);
                    }
                }
            }
            catch (EtcdWatchException e) when (e.CompactRevision is null && !cancellationToken.IsCancellationRequested)
            {
                // etcd unreachable or the stream cut: read again from where it stopped.
                LogWatchRetry(log, e.Message);
                await Task.Delay(RetryDelay, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Waits until memory holds the store's last commit, read now (linearizable: after the election, so
    /// it counts every commit the old leader made). Bounded by the lease: a standby that cannot catch up
    /// within it must not lead.
    /// </summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        var target = await store.ReadVersionAsync(cancellationToken);
        var deadline = DateTime.UtcNow + options.Etcd.LeaseTtl;
        while (state.Version < target)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"elected, but memory is at version {state.Version} and the store at {target} after {options.Etcd.LeaseTtl}: the watch is not keeping up");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
        }
    }

    [LoggerMessage(LogEvents.StandbyCaughtUp, LogLevel.Information, "Standby: following the leader's commits from etcd (at version {Version})")]
    private static partial void LogFollowing(ILogger logger, long version);

    [LoggerMessage(LogEvents.ReplicationBroken, LogLevel.Warning, "Standby: the watch on etcd broke ({Problem}); reading it again")]
    private static partial void LogWatchRetry(ILogger logger, string problem);

    [LoggerMessage(LogEvents.FollowingStopped, LogLevel.Error, "This scheduler's memory can no longer follow the store ({Problem}); stopping with exit code {ExitCode} so that a restart loads it afresh")]
    private static partial void LogBroken(ILogger logger, string problem, int exitCode);
}
