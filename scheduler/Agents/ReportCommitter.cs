using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.Agents;

/// <summary>
/// Applies the agents' task reports in groups. Every report that arrived while the previous group was
/// being written goes into the next one, and one LiteDB transaction holds them all: under load
/// (hundreds of agents reporting) the store sees one write per group instead of one per report. An
/// agent gets its acknowledgement only once its report is durable; groups are committed ahead of their
/// flush (the next is written while one is flushed) and answered in order, and one queue with one
/// reader keeps each agent's reports in order.
/// </summary>
internal sealed partial class ReportCommitter(ClusterState state, ILogger<ReportCommitter> log) : BackgroundService
{
    private const int MaxGroup = 1024;

    private readonly Channel<AgentReport> _queue = Channel.CreateUnbounded<AgentReport>(new UnboundedChannelOptions { SingleReader = true });

    public void Enqueue(AgentReport report) => _queue.Writer.TryWrite(report);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var answered = Task.CompletedTask;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var group = new List<AgentReport>();
                while (group.Count < MaxGroup && _queue.Reader.TryRead(out var report))
                {
                    group.Add(report);
                }

                // The next group is read and written while this one's flush runs: its answers go out
                // once it is durable, after the earlier groups' (each agent hears in its own order).
                answered = AnswerAsync(group, state.ApplyReportsAsync(group), answered);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: reports not yet acknowledged are sent again by their agents.
        }

        await answered;
    }

    private async Task AnswerAsync(List<AgentReport> group, Task<SchedulerMessage?[]> applied, Task earlier)
    {
        try
        {
            await earlier;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Each group answers for itself: an earlier one's failure is not this one's.
        }

        SchedulerMessage?[] answers;
        try
        {
            answers = await applied;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Nothing of the group was kept. Ending those streams makes each agent reconnect and send
            // its unacknowledged reports again; the scheduler itself carries on.
            LogGroupFailed(log, group.Count, e.Message);
            foreach (var session in group.Select(r => r.Session).DistinctBy(s => s.Id))
            {
                session.Close();
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            var (_, session, report) = group[i];
            if (answers[i] is { } answer)
            {
                session.TrySend(answer);
            }

            session.TrySend(new SchedulerMessage { ReportAck = new ReportAck { Sequence = report.Sequence } });
        }
    }

    [LoggerMessage(LogEvents.ReportsNotApplied, LogLevel.Error, "{Count} task reports were not applied ({Problem}); their agents will send them again")]
    private static partial void LogGroupFailed(ILogger logger, int count, string problem);
}
