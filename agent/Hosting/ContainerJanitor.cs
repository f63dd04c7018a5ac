using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;

namespace Orchestrator.Agent.Hosting;

/// <summary>Removes the containers of tasks stopped longer ago than the retention.</summary>
internal sealed partial class ContainerJanitor(TaskSupervisor supervisor, AgentOptions options, AgentStartup startup, TimeProvider time, ILogger<ContainerJanitor> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await startup.Watching.WaitAsync(stoppingToken);
        var period = TimeSpan.FromSeconds(Math.Clamp(options.StoppedContainerRetention.TotalSeconds / 4, 1, 60));
        using var timer = new PeriodicTimer(period, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await supervisor.RemoveExpiredAsync(options.StoppedContainerRetention, stoppingToken);
            }
            catch (Exception e) when (e is RuntimeUnavailableException or HttpRequestException or IOException)
            {
                LogFailed(log, e.Message);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Removing stopped containers failed ({Problem}); trying again later")]
    private static partial void LogFailed(ILogger logger, string problem);
}
