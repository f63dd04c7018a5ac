using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Sessions;

/// <summary>
/// Runs a command in a task's running container: the scheduler's input to the process, its output
/// back, and its exit code last. A command the engine cannot start (not found, not executable) ends as
/// <c>docker exec</c> ends: with the engine's message on the output and its exit code (126 or 127).
/// When the session ends before the process (the scheduler ended the call, the agent stops), nothing is
/// left running: the attachment is closed (a process on a tty gets SIGHUP), then what still runs is
/// killed, and a process that could not be killed is logged.
/// </summary>
internal sealed partial class CommandSession(IContainerRuntime runtime, AgentIdentity identity, ILogger log)
{
    private const int OutputBufferBytes = 32 * 1024;
    private static readonly TimeSpan KillBound = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ExitSettleStep = TimeSpan.FromMilliseconds(50);
    private const int ExitSettleSteps = 100;

    public async Task RunAsync(OpenSession open, ISessionCall call, ChannelReader<ExecuteCommandRequest> input, CancellationToken cancellation)
    {
        var found = await TaskContainers.FindAsync(runtime, identity, open.TaskId, open.Container, cancellation)
            ?? throw new SessionFailedException(StatusCode.NotFound, TaskContainers.Gone(identity, open.TaskId, open.Container));
        if (!found.Running)
        {
            throw new SessionFailedException(StatusCode.FailedPrecondition, $"container {open.Container} of task {open.TaskId} is not running on node {identity.NodeName}");
        }

        var exec = open.Exec;
        var spec = new ExecSpec([.. exec.Command], exec.Tty, exec.Interactive, Clamp(exec.Size?.Rows), Clamp(exec.Size?.Columns), []);
        IExecProcess process;
        try
        {
            process = await runtime.ExecAsync(found.Id, spec, cancellation);
        }
        catch (ContainerOperationException e)
        {
            throw new SessionFailedException(StatusCode.FailedPrecondition, $"cannot run the command in container {open.Container} of task {open.TaskId}: {e.Message}", e);
        }

        var ended = false;
        using var pumping = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var pump = PumpInputAsync(process, input, exec.Interactive, exec.Tty, pumping.Token);
        try
        {
            var buffer = new byte[OutputBufferBytes];
            while (true)
            {
                var (stream, count) = await process.ReadAsync(buffer, cancellation);
                if (count == 0)
                {
                    break;
                }

                var bytes = ByteString.CopyFrom(buffer, 0, count);
                var output = stream == OutputStream.Stderr ? new ExecuteCommandResponse { Stderr = bytes } : new ExecuteCommandResponse { Stdout = bytes };
                await call.ToScheduler.WriteAsync(new AgentSessionMessage { Exec = output }, cancellation);
            }

            var exitCode = await ExitCodeAsync(process, cancellation);
            ended = true;
            await call.ToScheduler.WriteAsync(new AgentSessionMessage { Exec = new ExecuteCommandResponse { Exited = new ExecExited { ExitCode = exitCode } } }, cancellation);
        }
        finally
        {
            await pumping.CancelAsync();
            await Quietly(pump);
            await process.DisposeAsync();
            if (!ended)
            {
                await KillAsync(process, open);
            }
        }
    }

    /// <summary>The output ends a moment before the engine marks the exec ended: its exit code is read once it has.</summary>
    private static async Task<int> ExitCodeAsync(IExecProcess process, CancellationToken cancellation)
    {
        for (var step = 0; ; step++)
        {
            var state = await process.InspectAsync(cancellation);
            if (state.ExitCode is { } code)
            {
                return code;
            }

            if (step >= ExitSettleSteps)
            {
                throw new SessionFailedException(StatusCode.Internal, "the command's output ended but the engine still reports it running");
            }

            await Task.Delay(ExitSettleStep, cancellation);
        }
    }

    private async Task KillAsync(IExecProcess process, OpenSession open)
    {
        using var bound = new CancellationTokenSource(KillBound);
        try
        {
            if (await process.KillAsync(bound.Token))
            {
                return;
            }

            LogNotKilled(log, open.TaskId, open.Container, process.Id, "it still runs after SIGKILL");
        }
        catch (Exception e)
        {
            LogNotKilled(log, open.TaskId, open.Container, process.Id, e.Message);
        }
    }

    /// <summary>
    /// Hands the scheduler's input to the process. Input that cannot reach it (its stdin closed, a
    /// resize refused) is dropped, and the rest is still read, so that the end of the call is seen.
    /// </summary>
    private static async Task PumpInputAsync(IExecProcess process, ChannelReader<ExecuteCommandRequest> input, bool interactive, bool tty, CancellationToken cancellation)
    {
        var stdinOpen = interactive;
        await foreach (var request in input.ReadAllAsync(cancellation))
        {
            try
            {
                switch (request.BodyCase)
                {
                    case ExecuteCommandRequest.BodyOneofCase.Stdin when stdinOpen:
                        await process.WriteInputAsync(request.Stdin.Memory, cancellation);
                        break;
                    case ExecuteCommandRequest.BodyOneofCase.Resize when tty:
                        await process.ResizeAsync(Clamp(request.Resize.Rows), Clamp(request.Resize.Columns), cancellation);
                        break;
                    case ExecuteCommandRequest.BodyOneofCase.CloseStdin when stdinOpen:
                        stdinOpen = false;
                        process.CloseInput();
                        break;
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException or ContainerOperationException or RuntimeUnavailableException)
            {
                stdinOpen = stdinOpen && request.BodyCase != ExecuteCommandRequest.BodyOneofCase.Stdin;
            }
        }
    }

    private static ushort Clamp(uint? value) => (ushort)Math.Min(value ?? 0, ushort.MaxValue);

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // Input that cannot reach the process any more (it ended, the session ended) is dropped.
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "The command run in container {Container} of task {Task} (exec {Exec}) could not be killed when its session ended: {Problem}")]
    private static partial void LogNotKilled(ILogger logger, string task, string container, string exec, string problem);
}
