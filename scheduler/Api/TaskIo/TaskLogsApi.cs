using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Agents.Sessions;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api.TaskIo;

/// <summary>
/// TaskService/GetTaskLogs: asks the agent of the task's node to read the container's logs and passes
/// its messages on as they come. Each is written to the client before the next is read from the agent,
/// so a slow client slows only this session's stream, by flow control, with nothing queued here.
/// </summary>
internal sealed class TaskLogsApi(ClusterState state, SessionBroker sessions, SchedulerStopping stopping, TimeProvider time)
{
    public async Task ServeAsync(GetTaskLogsRequest request, IServerStreamWriter<GetTaskLogsResponse> responseStream, ServerCallContext context)
    {
        var query = TaskIoValidator.Logs(request, time.GetUtcNow());
        var target = SessionTarget.Find(state, query.Cluster, query.TaskId, query.Container, ("cluster", "task", "container"), mustRun: false);
        using var open = stopping.Open();
        var client = context.CancellationToken;
        try
        {
            var (session, agent) = await sessions.OpenAsync(SessionKind.Logs, target.Task, target.Container.Name, target.Agent,
                new OpenSession { Logs = query.Session }, client);
            using (session)
            using (var output = new AgentOutput(session, agent, context, stopping))
            {
                await RelayAsync(output, target.Container.Name, responseStream, client);
            }
        }
        catch (Exception e) when (client.IsCancellationRequested && e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client went: ending the session (above) ends the agent's call, which stops its reading.
        }
    }

    private static async Task RelayAsync(AgentOutput output, string container, IServerStreamWriter<GetTaskLogsResponse> responseStream, CancellationToken client)
    {
        var first = true;
        while (await output.NextAsync() is { } message)
        {
            switch (message.BodyCase)
            {
                case AgentSessionMessage.BodyOneofCase.Logs:
                    if (first)
                    {
                        // The first message names the container read, as the scheduler resolved it.
                        message.Logs.Container = container;
                        first = false;
                    }

                    // Writes end only with the client: a write cancelled half-way would abort the HTTP/2
                    // stream, and the client would read CANCELLED instead of the status meant for it.
                    await responseStream.WriteAsync(message.Logs, client);
                    break;
                case AgentSessionMessage.BodyOneofCase.Failed:
                    throw AgentOutput.Failed(message.Failed);
                default:
                    throw output.Unexpected(message);
            }
        }

        if (first)
        {
            // No line at all (tail 0, or an empty log): the client still learns which container was read.
            await responseStream.WriteAsync(new GetTaskLogsResponse { Container = container }, client);
        }
    }
}
