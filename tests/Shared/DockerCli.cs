using System.Diagnostics;

namespace Orchestrator.Tests.Shared;

/// <summary>The docker command line, for what tests and benchmarks check or do behind the orchestrator's back.</summary>
internal static class DockerCli
{
    public static (int ExitCode, string Output) Run(params string[] arguments)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim());
    }
}
