using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;

namespace Orchestrator.Agent.Hosting;

/// <summary>
/// Feeds the runtime's container events (Docker's or containerd's) to the supervisor. When the event
/// stream breaks (dockerd or containerd restarted), it comes back with backoff and looks at every running container again, so that a death
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
    /// <summary>The engine as its log lines name it.</summary>
    private string RuntimeName => runtime.Capabilities.Name == RuntimeCapabilities.Docker ? "Docker" : runtime.Capabilities.Name;

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
                        LogResynced(log, RuntimeName);
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
                LogStreamLost(log, RuntimeName, e.Message);
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
            LogHandlerFailed(log, RuntimeName, runtimeEvent.Kind.ToString(), runtimeEvent.ContainerId, e.Message);
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "{Runtime} event stream lost ({Problem}); reconnecting")]
    private static partial void LogStreamLost(ILogger logger, string runtime, string problem);

    [LoggerMessage(2, LogLevel.Information, "{Runtime} event stream is back; every running container checked again")]
    private static partial void LogResynced(ILogger logger, string runtime);

    [LoggerMessage(3, LogLevel.Error, "Handling {Runtime} event {Kind} of {Container} failed: {Problem}")]
    private static partial void LogHandlerFailed(ILogger logger, string runtime, string kind, string container, string problem);
}
