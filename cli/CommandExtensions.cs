using System.CommandLine;
using Grpc.Core;

namespace Orchestrator.Cli;

/// <summary>How commands are made: a description with an example for --help, and one way errors become a line and an exit code.</summary>
internal static class CommandExtensions
{
    public static Command Verb(string name, string description, params string[] examples) =>
        new(name, Describe(description, examples));

    public static string Describe(string description, params string[] examples) =>
        examples.Length == 0 ? description : $"{description}\n\nExample{(examples.Length > 1 ? "s" : "")}:\n  {string.Join("\n  ", examples)}";

    public static Command With(this Command command, params Symbol[] symbols)
    {
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Option option:
                    command.Options.Add(option);
                    break;
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Command sub:
                    command.Subcommands.Add(sub);
                    break;
            }
        }

        return command;
    }

    /// <summary>
    /// The command's action: a gRPC error becomes "orchestrator: STATUS: message" and exit 1, bad input
    /// "orchestrator: message" and exit 1, Ctrl-C exit 130; never a stack trace.
    /// </summary>
    public static Command Runs(this Command command, CliContext context, GlobalOptions options, Func<Invocation, Task<int>> run)
    {
        command.SetAction(async (parse, cancel) =>
        {
            using var invocation = new Invocation(parse, context, options, cancel);
            try
            {
                return await run(invocation);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancel.IsCancellationRequested)
            {
                return ExitCodes.Interrupted;
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return ExitCodes.Interrupted;
            }
            catch (RpcException e)
            {
                invocation.Error($"{e.StatusCode}: {OneLine(Message(e))}");
                return ExitCodes.Failure;
            }
            catch (CliException e)
            {
                invocation.Error(e.Message);
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    // "Error connecting to subchannel." alone does not say why; the socket's error does ("Connection refused").
    // A certificate refused is most often a missing or wrong --ca-cert: say so.
    private static string Message(RpcException e) => e.Status.DebugException switch
    {
        { } cause when Causes(cause).Any(c => c is System.Security.Authentication.AuthenticationException) =>
            $"{e.Status.Detail} (is --ca-cert / ORCHESTRATOR_CACERT the cluster's CA, data/ca.crt?)",
        { } cause when e.StatusCode == StatusCode.Unavailable => $"{e.Status.Detail} ({(cause.InnerException ?? cause).Message})",
        _ => e.Status.Detail,
    };

    private static IEnumerable<Exception> Causes(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            yield return cause;
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
