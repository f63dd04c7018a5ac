using System.CommandLine;
using Orchestrator.Cli.Commands;

namespace Orchestrator.Cli;

/// <summary>
/// The orchestrator CLI as a function of its arguments and context, so that tests run it in-process
/// against an in-process scheduler exactly as the process runs it.
/// </summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancel = default)
    {
        var root = Build(context);
        var parse = root.Parse(args);
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            // Errors are turned into one line by each command; anything else is a bug worth its trace.
            EnableDefaultExceptionHandler = true,
            ProcessTerminationTimeout = context.HandleTermination ? TimeSpan.FromSeconds(2) : null,
        }, cancel);
    }

    public static RootCommand Build(CliContext context)
    {
        var options = new GlobalOptions();
        var root = new RootCommand(CommandExtensions.Describe(
            "orchestrator: the command line of an Orchestrator cluster (clusters, task definitions, tasks, services, target groups, nodes, tags, secrets, tokens, events).\n" +
            "Exit codes: 0 ok; 1 a gRPC error, bad input or a failure in the answer; 2 a --wait deployment that cannot place its tasks; 130 interrupted. " +
            "Usage errors (an unknown flag, a missing argument) print the problem and exit 1.",
            "export ORCHESTRATOR_CACERT=data/ca.crt ORCHESTRATOR_TOKEN=$(cat data/admin.token)",
            "orchestrator task run web --count 3"));
        root.Options.Add(options.Address);
        root.Options.Add(options.CaCert);
        root.Options.Add(options.Token);
        root.Options.Add(options.Output);
        root.Subcommands.Add(ClusterCommands.Create(context, options));
        root.Subcommands.Add(TaskDefinitionCommands.Create(context, options));
        root.Subcommands.Add(TaskCommands.Create(context, options));
        root.Subcommands.Add(ServiceCommands.Create(context, options));
        root.Subcommands.Add(TaskSetCommands.Create(context, options));
        root.Subcommands.Add(NodeCommands.Create(context, options));
        root.Subcommands.Add(TagCommands.Create(context, options));
        root.Subcommands.Add(SecretCommands.Create(context, options));
        root.Subcommands.Add(TargetGroupCommands.Create(context, options));
        root.Subcommands.Add(TokenCommands.Create(context, options));
        root.Subcommands.Add(EventCommands.Create(context, options));
        root.Subcommands.Add(WatchCommand.Create(context, options));
        return root;
    }
}
