namespace Orchestrator.Cli;

/// <summary>The process: the CLI on the real console (a class of its own, not top-level statements, so that its name does not clash with the scheduler's Program in the tests that load both).</summary>
internal static class CliProgram
{
    public static Task<int> Main(string[] args) => CliApp.RunAsync(args, CliContext.FromConsole());
}
