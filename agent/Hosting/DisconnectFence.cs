using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Tasks;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Hosting;

/// <summary>
/// Once a second, sets off the fence of every task whose disconnect.stopAfterSeconds has passed since
/// the scheduler last acknowledged this agent (<see cref="SchedulerLease"/>). It runs whether or not a
/// stream is open: a stream that still looks open may be cut off in the network.
/// </summary>
internal sealed partial class DisconnectFence(TaskSupervisor supervisor, SchedulerLease lease, AgentStartup startup, TimeProvider time, ILogger<DisconnectFence> log) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await startup.Watching.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(Period, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var stop in supervisor.Fence(lease.SinceRenewed, stoppingToken))
            {
                _ = stop.ContinueWith(
                    t => LogFailed(log, t.Exception?.GetBaseException().Message ?? "cancelled"),
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted,
                    TaskScheduler.Default);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Stopping a task without the scheduler failed: {Problem}")]
    private static partial void LogFailed(ILogger logger, string problem);
}
