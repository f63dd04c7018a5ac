using System.CommandLine;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator task exec (TaskService.ExecuteCommand): runs a command in a running task's container,
/// as docker exec does. With -i standard input goes to the process (its end as close_stdin); with -t
/// the process gets a pseudo-terminal, and a real terminal here is put into raw mode (so Ctrl-C and
/// arrow keys reach the process) and its size is sent at start and on every SIGWINCH. The process's
/// exit code becomes the CLI's.
/// </summary>
internal static class TaskExecCommand
{
    public static Command Create(CliContext context, GlobalOptions options)
    {
        var task = new Argument<string>("TASK") { Description = "The task id" };
        var command = new Argument<string[]>("COMMAND") { Arity = ArgumentArity.OneOrMore, Description = "The command and its arguments, after --" };
        var container = new Option<string?>("--container") { Description = "The container [default: the only one, else the first essential one]" };
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Send standard input to the process" };
        var tty = new Option<bool>("--tty", "-t") { Description = "Give the process a terminal (stdout and stderr arrive together)" };
        return Verb("exec", "Runs a command in a task's container; exits with the command's exit code",
                "orchestrator task exec 3f2c9d0e -it -- sh", "orchestrator task exec 3f2c9d0e -- sh -c 'echo $HOSTNAME'")
            .With(task, command, options.Cluster, container, interactive, tty)
            .Runs(context, options, async run =>
            {
                var start = new ExecStart
                {
                    Task = run.Value(task)!,
                    Command = { run.Value(command) ?? [] },
                    Interactive = run.Value(interactive),
                    Tty = run.Value(tty),
                };
                run.SetCluster(c => start.Cluster = c);
                run.Set(container, c => start.Container = c);
                var terminal = start.Tty && context.StdinIsTerminal ? context.Terminal : null;
                if (terminal is not null)
                {
                    var (rows, columns) = terminal.Size;
                    start.Size = new TerminalSize { Rows = rows, Columns = columns };
                }

                return await new ExecSession(run, terminal).RunAsync(start);
            });
    }

    private sealed class ExecSession(Invocation run, ITerminal? terminal)
    {
        private readonly SemaphoreSlim _writing = new(1, 1);
        private readonly Decoder _stdout = new UTF8Encoding(false).GetDecoder();
        private readonly Decoder _stderr = new UTF8Encoding(false).GetDecoder();

        public async Task<int> RunAsync(ExecStart start)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(run.Cancel);
            using var call = run.Tasks.ExecuteCommand(cancellationToken: stop.Token);
            await SendAsync(call, new ExecuteCommandRequest { Start = start }, stop.Token);

            using var raw = terminal?.EnterRawMode();
            using var resizes = terminal?.OnResize(() => _ = ResizeAsync(call, stop.Token));
            if (start.Interactive)
            {
                // Not awaited: the stdin reader may be blocked on a terminal that never ends; the call's
                // end cancels what it does next.
                _ = Task.Run(() => ForwardStdinAsync(call, stop.Token), CancellationToken.None);
            }

            try
            {
                int? exitCode = null;
                while (await call.ResponseStream.MoveNext(stop.Token))
                {
                    var response = call.ResponseStream.Current;
                    switch (response.BodyCase)
                    {
                        case ExecuteCommandResponse.BodyOneofCase.Stdout:
                            await WriteAsync(run.Context.RawOut, run.Context.Out, _stdout, response.Stdout, stop.Token);
                            break;
                        case ExecuteCommandResponse.BodyOneofCase.Stderr:
                            await WriteAsync(run.Context.RawError, run.Context.Error, _stderr, response.Stderr, stop.Token);
                            break;
                        case ExecuteCommandResponse.BodyOneofCase.Exited:
                            exitCode = response.Exited.ExitCode;
                            break;
                    }
                }

                if (exitCode is not { } code)
                {
                    throw new CliException("exec: the scheduler ended the command without its exit code");
                }

                return code;
            }
            finally
            {
                await stop.CancelAsync();
            }
        }

        private async Task ForwardStdinAsync(AsyncDuplexStreamingCall<ExecuteCommandRequest, ExecuteCommandResponse> call, CancellationToken cancel)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await run.Context.In.ReadAsync(buffer, cancel)) > 0)
                {
                    await SendAsync(call, new ExecuteCommandRequest { Stdin = ByteString.CopyFrom(buffer, 0, read) }, cancel);
                }

                await SendAsync(call, new ExecuteCommandRequest { CloseStdin = true }, cancel);
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException)
            {
                // The call ended first (the process exited or the scheduler refused): its status is what counts.
            }
        }

        private async Task ResizeAsync(AsyncDuplexStreamingCall<ExecuteCommandRequest, ExecuteCommandResponse> call, CancellationToken cancel)
        {
            if (terminal is null)
            {
                return;
            }

            var (rows, columns) = terminal.Size;
            try
            {
                await SendAsync(call, new ExecuteCommandRequest { Resize = new TerminalSize { Rows = rows, Columns = columns } }, cancel);
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException)
            {
                // A resize racing the end of the call changes nothing.
            }
        }

        // One writer at a time: gRPC allows a single pending write on a stream.
        private async Task SendAsync(AsyncDuplexStreamingCall<ExecuteCommandRequest, ExecuteCommandResponse> call, ExecuteCommandRequest message, CancellationToken cancel)
        {
            await _writing.WaitAsync(cancel);
            try
            {
                await call.RequestStream.WriteAsync(message, cancel);
            }
            finally
            {
                _writing.Release();
            }
        }

        /// <summary>Raw bytes where the console has them (binary output stays intact), else decoded text.</summary>
        private static async Task WriteAsync(Stream? raw, TextWriter text, Decoder decoder, ByteString bytes, CancellationToken cancel)
        {
            if (raw is not null)
            {
                await text.FlushAsync(cancel);
                await raw.WriteAsync(bytes.Memory, cancel);
                await raw.FlushAsync(cancel);
                return;
            }

            var chars = new char[decoder.GetCharCount(bytes.Span, flush: false)];
            decoder.GetChars(bytes.Span, chars, flush: false);
            await text.WriteAsync(chars, cancel);
        }
    }
}
