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

    /// <summary>The running containers of one node's agent (of one task group, if named), with the task each belongs to.</summary>
    public static (string Container, string TaskId)[] RunningContainersOf(string node, string? group = null)
    {
        string[] groupFilter = group is null ? [] : ["--filter", $"label=orchestrator.group={group}"];
        var (code, output) = Run(["ps", "--no-trunc", "--filter", $"label=orchestrator.node={node}", .. groupFilter, "--format", "{{.ID}} {{.Label \"orchestrator.task-id\"}}"]);
        if (code != 0)
        {
            throw new InvalidOperationException($"docker ps: {output}");
        }

        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')).Select(p => (p[0], p[1]))];
    }

    /// <summary>
    /// What `docker ps` shows running for these nodes' agents (of one service, if named): task id → container
    /// ids. A task with two entries runs twice.
    /// </summary>
    public static Dictionary<string, List<string>> RunningContainersByTask(IEnumerable<string> nodes, string? service = null)
    {
        var byTask = new Dictionary<string, List<string>>();
        foreach (var node in nodes)
        {
            foreach (var (container, taskId) in RunningContainersOf(node, service is null ? null : $"service:{service}"))
            {
                if (!byTask.TryGetValue(taskId, out var containers))
                {
                    byTask[taskId] = containers = [];
                }

                containers.Add(container);
            }
        }

        return byTask;
    }

    public static void RemoveContainersOf(string node)
    {
        foreach (var id in ContainersOf(node))
        {
            Run("rm", "-f", id);
        }
    }

    /// <summary>The task volumes and networks an agent of this node made (they carry its node label; shared volumes do not).</summary>
    public static void RemoveVolumesAndNetworksOf(string node)
    {
        foreach (var kind in new[] { "volume", "network" })
        {
            var (_, output) = Run(kind, "ls", "-q", "--filter", $"label=orchestrator.node={node}");
            foreach (var name in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Run(kind, "rm", name);
            }
        }
    }

    public static bool LiveRestoreEnabled() => Run("info", "--format", "{{.LiveRestoreEnabled}}").Output == "true";

    /// <summary>
    /// Restarts the Docker engine the way it runs here: through systemd where systemd runs it, else by
    /// stopping dockerd (SIGTERM, as on a package upgrade) and starting the same command line again,
    /// detached and logging where build.sh logs it. Returns once the engine answers again.
    /// </summary>
    public static void RestartEngine()
    {
        // /run/systemd/system exists only where systemd is the init (sd_booted).
        if (Directory.Exists("/run/systemd/system") && ShellCommand.Run("systemctl", "is-active", "--quiet", "docker").ExitCode == 0)
        {
            Assert.That(ShellCommand.Run("systemctl", "restart", "docker").ExitCode, Is.Zero, "systemctl restart docker");
        }
        else
        {
            var pids = System.Diagnostics.Process.GetProcessesByName("dockerd");
            Assert.That(pids, Has.Length.EqualTo(1), "one dockerd runs");
            var pid = pids[0].Id;
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(ShellCommand.Run("kill", "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).ExitCode, Is.Zero);
            if (!pids[0].WaitForExit(TimeSpan.FromSeconds(90)))
            {
                Assert.Fail("dockerd did not stop within 90 s of SIGTERM");
            }

            var log = Environment.GetEnvironmentVariable("DOCKER_LOG") ?? "/tmp/orchestrator-dockerd.log";
            Assert.That(ShellCommand.Run("setsid", ["-f", "sh", "-c", $"exec \"$0\" \"$@\" >>'{log}' 2>&1 </dev/null", .. commandLine]).ExitCode, Is.Zero, "start dockerd again");
        }

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (Run("info", "--format", "{{.ID}}").ExitCode != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("dockerd did not answer within 90 s of its restart");
            }

            Thread.Sleep(200);
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
