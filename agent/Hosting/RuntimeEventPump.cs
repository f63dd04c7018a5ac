using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;

namespace Orchestrator.Agent.Hosting;

/// <summary>
/// Feeds Docker's container events to the supervisor. When the event stream breaks (dockerd
/// restarted), it comes back with backoff and looks at every running container again, so that a death
/// in the gap is still seen.
/// </summary>
internal sealed partial class RuntimeEventPump(
    IContainerRuntime runtime,
    TaskSupervisor supervisor,
    AgentIdentity identity,
    AgentStartup startup,
    TimeProvider time,
    ILogger<RuntimeEventPump> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await startup.DockerReady.WaitAsync(stoppingToken);
        var backoff = new Backoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10), new Random());
        var resync = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (resync)
                {
                    // Docker.DotNet does not say when an event subscription is open, so ask the engine
                    // first: while it is down this fails at once and the backoff grows.
                    await runtime.InfoAsync(stoppingToken);
                }

                var events = runtime.EventsAsync(ContainerLabels.Node, identity.NodeName, stoppingToken).GetAsyncEnumerator(stoppingToken);
                await using (events)
                {
                    // The subscription is open once the first MoveNext is pending; signal and resync then.
                    var next = events.MoveNextAsync();
                    startup.SignalWatching();
                    if (resync)
                    {
                        await supervisor.ResyncAsync(stoppingToken);
                        LogResynced(log);
                        resync = false;
                        backoff.Reset();
                    }

                    while (await next)
                    {
                        // Not awaited: each handler queues on its task's gate at once, which keeps the
                        // order per task, while a slow task (an image pull) holds up no other.
                        _ = HandleAsync(events.Current, stoppingToken);
                        next = events.MoveNextAsync();
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Whatever the engine does while it restarts (refused connections, 500s, cut streams),
                // this loop must outlive it: without events the agent would report nothing.
                LogStreamLost(log, e.Message);
            }

            resync = true;
            await Task.Delay(backoff.Next(), time, stoppingToken);
        }
    }

    private async Task HandleAsync(RuntimeEvent runtimeEvent, CancellationToken cancellation)
    {
        try
        {
            await supervisor.OnEventAsync(runtimeEvent, cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogHandlerFailed(log, runtimeEvent.Kind.ToString(), runtimeEvent.ContainerId, e.Message);
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Docker event stream lost ({Problem}); reconnecting")]
    private static partial void LogStreamLost(ILogger logger, string problem);

    [LoggerMessage(2, LogLevel.Information, "Docker event stream is back; every running container checked again")]
    private static partial void LogResynced(ILogger logger);

    [LoggerMessage(3, LogLevel.Error, "Handling Docker event {Kind} of {Container} failed: {Problem}")]
    private static partial void LogHandlerFailed(ILogger logger, string kind, string container, string problem);
}
