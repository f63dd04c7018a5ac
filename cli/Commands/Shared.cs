using System.CommandLine;
using Google.Protobuf;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Cli.Commands;

/// <summary>Options and output steps several nouns share.</summary>
internal static class Shared
{
    public static Option<string[]> Tags() => new("--tag")
    {
        Description = "A tag KEY=VALUE (repeatable)",
        HelpName = "KEY=VALUE",
        AllowMultipleArgumentsPerToken = false,
    };

    public static IEnumerable<Tag> ParseTags(IEnumerable<string>? tags) => (tags ?? []).Select(tag =>
    {
        var equals = tag.IndexOf('=', StringComparison.Ordinal);
        return equals <= 0
            ? throw new CliException($"--tag: \"{tag}\" is not KEY=VALUE")
            : new Tag { Key = tag[..equals], Value = tag[(equals + 1)..] };
    });

    public static Option<int?> MaxResults() => new("--max-results") { Description = "At most this many per page (1..1000)" };

    public static Option<string?> NextToken() => new("--next-token") { Description = "The page after the one that answered this nextToken" };

    /// <summary>
    /// Shows an answer: json prints it whole; a table shows its rows. Its failures go to stderr as
    /// error lines either way, and make the exit code 1 (a script learns that something was missing).
    /// </summary>
    public static int Show(Invocation invocation, IMessage response, IEnumerable<IMessage> rows, string[] columns, IEnumerable<Failure>? failures = null)
    {
        if (invocation.Printer.Json)
        {
            invocation.Printer.Message(response);
        }
        else
        {
            invocation.Printer.Table(rows, columns);
        }

        return invocation.ReportFailures(failures ?? []) ? ExitCodes.Failure : ExitCodes.Ok;
    }

    /// <summary>An answer about one thing: json prints the answer, a table the thing's fields.</summary>
    public static int ShowOne(Invocation invocation, IMessage response, IMessage item)
    {
        if (invocation.Printer.Json)
        {
            invocation.Printer.Message(response);
        }
        else
        {
            invocation.Printer.Details(item);
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// A list call's answer: its JSON, or one column of names (<paramref name="header"/>) and, when there
    /// is another page, how to ask for it.
    /// </summary>
    public static int PrintNames(Invocation invocation, Google.Protobuf.IMessage response, string header, IEnumerable<string> names, string nextToken)
    {
        if (invocation.Printer.Json)
        {
            invocation.Printer.Message(response);
        }
        else
        {
            invocation.Printer.Column(header, names);
            MorePages(invocation, nextToken);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Tells a table reader that there is another page (json readers see nextToken).</summary>
    public static void MorePages(Invocation invocation, string nextToken)
    {
        if (!invocation.Printer.Json && nextToken.Length > 0)
        {
            invocation.Context.Error.WriteLine($"more: --next-token {nextToken}");
        }
    }
}
