using System.Diagnostics;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>The docker CLI, for what a test checks behind the orchestrator's back.</summary>
internal static class Docker
{
    public const string TestImage = "orchestrator-test/busybox:latest";

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

    public static string Inspect(string container, string format)
    {
        var (code, output) = Run("inspect", "--format", format, container);
        return code == 0 ? output : throw new InvalidOperationException($"docker inspect {container}: {output}");
    }

    /// <summary>Ids of every container, running or not, of one node's agent.</summary>
    public static string[] ContainersOf(string node)
    {
        var (_, output) = Run("ps", "-a", "-q", "--no-trunc", "--filter", $"label=orchestrator.node={node}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static void RemoveContainersOf(string node)
    {
        foreach (var id in ContainersOf(node))
        {
            Run("rm", "-f", id);
        }
    }

    /// <summary>Fails the run with one clear line where Docker or the test image is missing: never a silent skip.</summary>
    public static void RequireReady()
    {
        var (code, output) = Run("image", "inspect", "--format", "{{.Id}}", TestImage);
        if (code != 0)
        {
            Assert.Fail($"Docker or the test image {TestImage} is not available ({output}); run ./build.sh test, which installs Docker, starts dockerd and builds the image");
        }
    }
}
