using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// What a leader does once it is deposed (its lease lost, its local deadline passed, etcd gone): at once
/// it writes nothing more (the leadership says so, every write is refused, the store is fenced) and its
/// agents' streams end, so they move to the new leader. It stays up while etcd does not answer, so that
/// it still forwards or serves reads (marked stale), and stops with exit code 5 as soon as etcd answers
/// again: systemd or Compose starts it again as a standby that loads the state afresh, since what this
/// process holds in memory may include commits whose outcome it never learnt.
/// </summary>
internal sealed partial class DeposedLeaderExit(
    ILeadership leadership,
    EtcdStateStore store,
    SchedulerExit exit,
    ILogger<DeposedLeaderExit> log) : BackgroundService
{
    private static readonly TimeSpan Probe = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await leadership.Elected.WaitAsync(stoppingToken);
            await Task.Delay(Timeout.Infinite, leadership.Deposed).WaitAsync(stoppingToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            stoppingToken.ThrowIfCancellationRequested();
            LogDeposed(log, leadership.NotLeaderReason ?? "lease lost");
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    using var probe = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    probe.CancelAfter(Probe * 2);
                    await store.ReadVersionAsync(probe.Token);
                    break;
                }
                catch (Exception e) when (e is Storage.StorageException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    await Task.Delay(Probe, stoppingToken);
                }
            }

            LogRestarting(log, SchedulerExit.LeadershipLost);
            exit.StopWith(SchedulerExit.LeadershipLost);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(LogEvents.DeposedWritesNothing, LogLevel.Error, "This scheduler is no longer the leader ({Reason}): it writes nothing more; it restarts as a standby once etcd answers")]
    private static partial void LogDeposed(ILogger logger, string reason);

    [LoggerMessage(LogEvents.DeposedRestarting, LogLevel.Warning, "etcd answers again: stopping with exit code {ExitCode} to come back as a standby")]
    private static partial void LogRestarting(ILogger logger, int exitCode);
}
