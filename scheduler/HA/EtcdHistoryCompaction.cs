using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// Every minute, on the leader, compacts etcd's history (<see cref="EtcdCompactor"/>): without it every
/// commit's old revisions stay until etcd's space quota stops all writes. Stopped tasks and receipts
/// are pruned by the HistoryPruner as on LiteDB, so the live keys stay few too.
/// </summary>
internal sealed partial class EtcdHistoryCompaction(EtcdCompactor compactor, ILeadership leadership, TimeProvider time, ILogger<EtcdHistoryCompaction> log) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!leadership.IsLeader)
                {
                    continue;
                }

                try
                {
                    if (await compactor.CompactAsync(stoppingToken) is { } revision)
                    {
                        LogCompacted(log, revision);
                    }
                }
                catch (Grpc.Core.RpcException e)
                {
                    LogFailed(log, e.Status.Detail);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(LogEvents.EtcdCompacted, LogLevel.Debug, "etcd's history compacted up to revision {Revision}")]
    private static partial void LogCompacted(ILogger logger, long revision);

    [LoggerMessage(LogEvents.EtcdCompactionFailed, LogLevel.Warning, "etcd's history could not be compacted ({Problem}); trying again in a minute")]
    private static partial void LogFailed(ILogger logger, string problem);
}
