using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// A simulated agent's end of one task session (AgentService/Session, after its hello): the test
/// scripts what the agent sends (log lines, exec output, a failure, the end) and reads what the
/// scheduler passes on from the client (exec input), and how the scheduler ended the call.
/// </summary>
internal sealed class SimulatedSession(AsyncDuplexStreamingCall<AgentSessionMessage, SchedulerSessionMessage> call) : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public Task SendAsync(AgentSessionMessage message) => call.RequestStream.WriteAsync(message);

    /// <summary>One logs message with these stdout lines.</summary>
    public Task LinesAsync(params string[] lines)
    {
        var logs = new GetTaskLogsResponse();
        logs.Lines.AddRange(lines.Select(text => new LogLine { Stream = LogStream.Stdout, Text = text }));
        return SendAsync(new AgentSessionMessage { Logs = logs });
    }

    public Task StdoutAsync(string text) =>
        SendAsync(new AgentSessionMessage { Exec = new ExecuteCommandResponse { Stdout = ByteString.CopyFromUtf8(text) } });

    public Task StderrAsync(string text) =>
        SendAsync(new AgentSessionMessage { Exec = new ExecuteCommandResponse { Stderr = ByteString.CopyFromUtf8(text) } });

    public Task ExitedAsync(int code) =>
        SendAsync(new AgentSessionMessage { Exec = new ExecuteCommandResponse { Exited = new ExecExited { ExitCode = code } } });

    /// <summary>
    /// The agent's failure. The scheduler ends the session call as soon as it has read it, which can
    /// cancel this write's flush after the message went out; the test checks what the client was told,
    /// which fails if the message did not arrive.
    /// </summary>
    public async Task FailAsync(StatusCode code, string message)
    {
        try
        {
            await SendAsync(new AgentSessionMessage { Failed = new SessionFailed { StatusCode = (int)code, Message = message } });
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
            // The call ended behind the message.
        }
    }

    /// <summary>Ends the agent's side: the end of the logs.</summary>
    public Task CompleteAsync() => call.RequestStream.CompleteAsync();

    /// <summary>The next input the scheduler passed on; null when it ended the call instead.</summary>
    public async Task<SchedulerSessionMessage?> NextInputAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await call.ResponseStream.MoveNext(timeout.Token) ? call.ResponseStream.Current : null;
    }

    /// <summary>
    /// Waits until the scheduler ends the call (ignoring any input still on its way) and returns how:
    /// OK, or the status it ended the call with. Fails the test after ten seconds.
    /// </summary>
    public async Task<Status> EndAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
            }

            return call.GetStatus();
        }
        catch (RpcException e) when (!timeout.IsCancellationRequested)
        {
            return e.Status;
        }
    }

    /// <summary>Breaks the call off, as an agent that dies or loses its connection does.</summary>
    public void Abort() => call.Dispose();

    public ValueTask DisposeAsync()
    {
        call.Dispose();
        return ValueTask.CompletedTask;
    }
}
