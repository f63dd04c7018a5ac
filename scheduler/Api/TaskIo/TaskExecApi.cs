using Grpc.Core;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Agents.Sessions;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api.TaskIo;

/// <summary>
/// TaskService/ExecuteCommand: asks the agent of the task's node to run the command in the container,
/// then relays both ways at once: the client's input (stdin, resize, closeStdin) to the agent, the
/// command's output and exit code to the client. Each message is written before the next is read, on
/// both paths, so nothing queues here. Each session is logged as it opens and ends, with the task,
/// container and token; never with the command's arguments (they may carry secrets), input or output.
/// </summary>
internal sealed partial class TaskExecApi(ClusterState state, SessionBroker sessions, SchedulerStopping stopping, ILogger<TaskExecApi> log)
{
    private static readonly SchedulerSessionMessage EndOfInput = new() { Exec = new ExecuteCommandRequest { CloseStdin = true } };

    public async Task ServeAsync(IAsyncStreamReader<ExecuteCommandRequest> requestStream, IServerStreamWriter<ExecuteCommandResponse> responseStream, ServerCallContext context)
    {
        var client = context.CancellationToken;
        var query = TaskIoValidator.Exec(await requestStream.MoveNext(client) ? requestStream.Current : null);
        var target = SessionTarget.Find(state, query.Cluster, query.TaskId, query.Container, ("start.cluster", "start.task", "start.container"), mustRun: true);
        var token = Domain.Echo.Escape(TokenAuthInterceptor.CallerOf(context)?.Name ?? "");
        using var open = stopping.Open();
        TaskSession session;
        AgentEnd agent;
        try
        {
            (session, agent) = await sessions.OpenAsync(SessionKind.Exec, target.Task, target.Container.Name, target.Agent,
                new OpenSession { Exec = query.Session }, client);
        }
        catch (OperationCanceledException) when (client.IsCancellationRequested)
        {
            return;
        }

        using (session)
        {
            LogOpened(log, session.Id, target.Task.Id, target.Container.Name, token, query.Session.Tty, query.Session.Interactive);
            int? exitCode = null;
            var outcome = "broke off";
            try
            {
                // Headers now: the node may start the command at any moment, and a client's channel retries
                // a call (its retry policy) only while no headers have come, so none can run it twice.
                await context.WriteResponseHeadersAsync(new Metadata());
                exitCode = await RelayAsync(session, agent, query.Session, requestStream, responseStream, context);
                outcome = "exited";
            }
            catch (Exception e) when (client.IsCancellationRequested && e is OperationCanceledException or IOException or InvalidOperationException)
            {
                // The client went: ending the session (below) ends the agent's call, which kills the command.
                outcome = "the client went";
            }
            catch (RpcException e)
            {
                // The code only: an agent's message may quote the program, and arguments are never logged.
                outcome = e.StatusCode.ToString();
                throw;
            }
            catch (RequestException e)
            {
                outcome = $"refused input: {e.Field}";
                throw;
            }
            finally
            {
                LogEnded(log, session.Id, target.Task.Id, target.Container.Name, token, exitCode, outcome);
            }
        }
    }

    /// <returns>The command's exit code, once written to the client.</returns>
    private async Task<int> RelayAsync(TaskSession session, AgentEnd agent, ExecSession exec,
        IAsyncStreamReader<ExecuteCommandRequest> requestStream, IServerStreamWriter<ExecuteCommandResponse> responseStream, ServerCallContext context)
    {
        using var inputFailed = new CancellationTokenSource();
        using var output = new AgentOutput(session, agent, context, stopping, inputFailed.Token);
        using var inputOver = CancellationTokenSource.CreateLinkedTokenSource(output.Ending);
        Exception? inputError = null;
        var input = Task.Run(async () =>
        {
            try
            {
                await PumpInputAsync(exec, requestStream, agent.Input, inputOver.Token);
            }
            catch (OperationCanceledException) when (inputOver.IsCancellationRequested)
            {
                // The session ended first.
            }
            catch (Exception e) when (e is RequestException or OperationCanceledException or IOException or InvalidOperationException or RpcException)
            {
                inputError = e;
                await inputFailed.CancelAsync();
            }
        });

        try
        {
            while (true)
            {
                AgentSessionMessage? message;
                try
                {
                    message = await output.NextAsync();
                }
                catch (Exception) when (inputError is RequestException refused)
                {
                    throw refused;
                }

                switch (message?.BodyCase)
                {
                    case null:
                        throw new RpcException(new Status(StatusCode.Unavailable, $"node {session.Node}'s agent ended the session before the command's exit code"));
                    case AgentSessionMessage.BodyOneofCase.Exec when message.Exec.BodyCase == ExecuteCommandResponse.BodyOneofCase.Exited:
                        await responseStream.WriteAsync(message.Exec, context.CancellationToken);
                        return message.Exec.Exited.ExitCode;
                    case AgentSessionMessage.BodyOneofCase.Exec:
                        await responseStream.WriteAsync(message.Exec, context.CancellationToken);
                        break;
                    case AgentSessionMessage.BodyOneofCase.Failed:
                        throw AgentOutput.Failed(message.Failed);
                    default:
                        throw output.Unexpected(message);
                }
            }
        }
        finally
        {
            // The input pump lets go of both streams before the session ends and the agent's call with it.
            await inputOver.CancelAsync();
            await input;
        }
    }

    /// <summary>
    /// The client's messages after start, checked and passed to the agent. The client closing its side
    /// of the call closes the command's standard input, as <c>docker exec -i</c> does at end of file.
    /// </summary>
    private static async Task PumpInputAsync(ExecSession exec, IAsyncStreamReader<ExecuteCommandRequest> requestStream,
        IServerStreamWriter<SchedulerSessionMessage> agent, CancellationToken cancellation)
    {
        var closed = false;
        while (await requestStream.MoveNext(cancellation))
        {
            var message = requestStream.Current;
            TaskIoValidator.Input(message, exec);
            if (closed && message.BodyCase is ExecuteCommandRequest.BodyOneofCase.Stdin or ExecuteCommandRequest.BodyOneofCase.CloseStdin)
            {
                throw RequestException.Invalid(message.BodyCase == ExecuteCommandRequest.BodyOneofCase.Stdin ? "stdin" : "closeStdin",
                    "standard input was closed already");
            }

            closed |= message.BodyCase == ExecuteCommandRequest.BodyOneofCase.CloseStdin;
            await agent.WriteAsync(new SchedulerSessionMessage { Exec = message }, cancellation);
        }

        if (exec.Interactive && !closed)
        {
            await agent.WriteAsync(EndOfInput, cancellation);
        }
    }

    [LoggerMessage(LogEvents.ExecSessionOpened, LogLevel.Information,
        "Exec session {Session} opened in task {Task}, container {Container}, for token {Token} (tty {Tty}, interactive {Interactive})")]
    private static partial void LogOpened(ILogger logger, string session, string task, string container, string token, bool tty, bool interactive);

    [LoggerMessage(LogEvents.ExecSessionEnded, LogLevel.Information,
        "Exec session {Session} in task {Task}, container {Container}, for token {Token} ended: {Outcome}, exit code {ExitCode}")]
    private static partial void LogEnded(ILogger logger, string session, string task, string container, string token, int? exitCode, string outcome);
}
