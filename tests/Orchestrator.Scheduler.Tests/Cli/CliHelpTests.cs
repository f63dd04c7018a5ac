using System.CommandLine;
using Orchestrator.Cli;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>--help everywhere, with an example, and usage errors as System.CommandLine reports them.</summary>
internal sealed class CliHelpTests
{
    private static CliContext Context(StringWriter output, StringWriter error) => new() { Out = output, Error = error, Width = 200 };

    private static IEnumerable<string> LeafCommands()
    {
        static IEnumerable<string> Walk(Command command, string path) => command.Subcommands.Count == 0
            ? [path]
            : command.Subcommands.SelectMany(sub => Walk(sub, $"{path} {sub.Name}".Trim()));

        return Walk(CliApp.Build(Context(new StringWriter(), new StringWriter())), "");
    }

    [TestCaseSource(nameof(LeafCommands))]
    public async Task Every_command_has_help_with_an_example(string command)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await CliApp.RunAsync([.. command.Split(' '), "--help"], Context(output, error));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0));
            Assert.That(output.ToString(), Does.Contain("Example"));
            Assert.That(output.ToString(), Does.Contain($"orchestrator {command}"));
        });
    }

    [TestCase("task", "run", "web", "--bogus")]
    [TestCase("nosuch")]
    [TestCase("task", "exec", "abc")]
    public async Task A_usage_error_is_reported_with_exit_1(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await CliApp.RunAsync(args, Context(output, error));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(error.ToString(), Is.Not.Empty);
        });
    }
}
