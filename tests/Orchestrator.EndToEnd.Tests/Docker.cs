using Orchestrator.Tests.Shared;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>What the end-to-end tests ask of Docker directly.</summary>
internal static class Docker
{
    public const string TestImage = "orchestrator-test/busybox:latest";

    public static (int ExitCode, string Output) Run(params string[] arguments) => DockerCli.Run(arguments);

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

    /// <summary>The running containers of one node's agent, with the task each belongs to.</summary>
    public static (string Container, string TaskId)[] RunningContainersOf(string node)
    {
        var (code, output) = Run("ps", "--no-trunc", "--filter", $"label=orchestrator.node={node}", "--format", "{{.ID}} {{.Label \"orchestrator.task-id\"}}");
        if (code != 0)
        {
            throw new InvalidOperationException($"docker ps: {output}");
        }

        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')).Select(p => (p[0], p[1]))];
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
