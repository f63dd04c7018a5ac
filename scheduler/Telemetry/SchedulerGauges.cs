using System.Diagnostics.Metrics;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Telemetry;

/// <summary>
/// The scheduler's gauges, read when Prometheus scrapes: counts the state keeps in memory (tasks by
/// status are counted as commits apply, nodes are a walk of the node table), never the store. Added
/// as the host starts, so that nothing resolves the state before Program has opened it and checked it.
/// </summary>
internal sealed class SchedulerGauges(SchedulerMeter scheduler, ClusterState state, TaskEventHub watchers, TimeProvider time) : IHostedService
{
    private static readonly TaskState[] TaskStates = Enum.GetValues<TaskState>();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var meter = scheduler.Meter;
        meter.CreateObservableGauge("tasks", () => TasksByStatus(state), "{task}", "Tasks the scheduler keeps, by last status.");
        meter.CreateObservableGauge("nodes", () => NodesByStatus(state), "{node}", "Nodes by status, and whether their agent is connected now.");
        meter.CreateObservableGauge("heartbeat_age_max_seconds", () => state.HeartbeatAgeMax(time.GetUtcNow()).TotalSeconds, "s",
            "The longest time since a connected agent's last heartbeat (0 with none connected).");
        meter.CreateObservableGauge("watchers", () => watchers.WatcherCount, "{watcher}", "Open task watch streams.");
        meter.CreateObservableGauge("watcher_backlog_max", () => watchers.MaxBacklog, "{event}", "Events queued for the slowest watch stream: how far it lags.");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static IEnumerable<Measurement<int>> TasksByStatus(ClusterState state)
    {
        // Every status, zeros included, so that a series falls to 0 rather than vanishing.
        foreach (var status in TaskStates)
        {
            yield return new Measurement<int>(state.TaskCount(status), new KeyValuePair<string, object?>("status", status.ToString().ToUpperInvariant()));
        }
    }

    private static IEnumerable<Measurement<int>> NodesByStatus(ClusterState state)
    {
        foreach (var ((status, connected), count) in state.CountNodesByStatus())
        {
            yield return new Measurement<int>(count,
                new KeyValuePair<string, object?>("status", status.ToString().ToUpperInvariant()),
                new KeyValuePair<string, object?>("connected", connected ? "true" : "false"));
        }
    }
}
