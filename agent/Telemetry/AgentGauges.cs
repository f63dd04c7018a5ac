using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Tasks;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Telemetry;

/// <summary>The agent's gauges, read from memory when Prometheus scrapes; added as the host starts.</summary>
internal sealed class AgentGauges(AgentMeter agent, TaskSupervisor supervisor, ReportQueue reports) : IHostedService
{
    // DEACTIVATING is the scheduler's word for a task whose stop it holds while it drains: no container is ever in it.
    private static readonly TaskStatus[] Statuses = [.. Enum.GetValues<TaskStatus>().Where(s => s is not TaskStatus.Unspecified and not TaskStatus.Deactivating)];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        agent.Meter.CreateObservableGauge("containers", ContainersByState, "{container}", "Containers of the tasks this agent keeps, by state.");
        agent.Meter.CreateObservableGauge("report_queue_length", () => reports.PendingCount, "{report}", "Task state reports not yet acknowledged by the scheduler.");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private IEnumerable<Measurement<int>> ContainersByState()
    {
        var counts = supervisor.CountContainersByStatus();

        // Every state, zeros included, so that a series falls to 0 rather than vanishing.
        foreach (var status in Statuses)
        {
            yield return new Measurement<int>(counts[(int)status], new KeyValuePair<string, object?>("state", status.ToString().ToUpperInvariant()));
        }
    }
}
