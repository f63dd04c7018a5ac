namespace Orchestrator.Tests.Shared;

/// <summary>The docker command line, for what tests and benchmarks check or do behind the orchestrator's back.</summary>
internal static class DockerCli
{
    public static (int ExitCode, string Output) Run(params string[] arguments) => ShellCommand.Run("docker", arguments);
}
