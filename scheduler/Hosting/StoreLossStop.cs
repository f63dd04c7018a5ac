using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Fail-stop when the store is lost (a flush to disk failed): the scheduler stops with exit code 4
/// instead of running on with writes refused, so that systemd (Restart=on-failure) or Compose starts it
/// again and it loads what the disk really holds. After a failed fsync the kernel may have dropped the
/// pages it could not write, so nothing short of reading the file again is safe (PostgreSQL stops for
/// the same reason).
/// </summary>
internal sealed partial class StoreLossStop(IStateStore store, SchedulerExit exit, ILogger<StoreLossStop> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lost = store.Lost;
        if (await Task.WhenAny(lost, Task.Delay(Timeout.Infinite, stoppingToken)) != lost)
        {
            return;
        }

        LogLost(log, (await lost).Message, SchedulerExit.StoreLost);
        exit.StopWith(SchedulerExit.StoreLost);
    }

    [LoggerMessage(LogEvents.StoreLost, LogLevel.Critical, "The store can take no more commits ({Problem}); stopping with exit code {ExitCode} so that a restart loads what it holds")]
    private static partial void LogLost(ILogger logger, string problem, int exitCode);
}
