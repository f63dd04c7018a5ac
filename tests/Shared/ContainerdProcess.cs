using System.Diagnostics;

namespace Orchestrator.Tests.Shared;

/// <summary>
/// A containerd of the test's own: its own socket, root, state and opt directories under a fresh
/// temporary directory, the CRI plugin off, never the containerd Docker uses. The test image is
/// imported into <see cref="Namespace"/> from Docker's copy (nothing can be pulled here).
/// </summary>
internal sealed class ContainerdProcess : IDisposable
{
    public const string Namespace = "orchestrator";
    public const string TestImage = "orchestrator-test/busybox:latest";

    private readonly Process _process;
    private readonly List<string> _output = [];

    private ContainerdProcess(string directory, Process process)
    {
        Directory = directory;
        _process = process;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    /// <summary>The temporary directory that holds everything of this containerd.</summary>
    public string Directory { get; }

    public string Socket => Path.Combine(Directory, "containerd.sock");

    public IReadOnlyList<string> Output
    {
        get { lock (_output) return [.. _output]; }
    }

    /// <summary>Starts containerd and waits (up to 30 s) until `ctr version` answers on its socket.</summary>
    public static async Task<ContainerdProcess> StartAsync()
    {
        // Short: a unix socket path must fit in 108 bytes.
        var directory = System.IO.Directory.CreateTempSubdirectory("ctd-").FullName;
        var config = Path.Combine(directory, "config.toml");
        await File.WriteAllTextAsync(config, $"""
            version = 2
            root = "{directory}/root"
            state = "{directory}/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]

            [grpc]
              address = "{directory}/containerd.sock"

            [ttrpc]
              address = "{directory}/containerd.sock.ttrpc"

            [debug]
              address = ""

            [metrics]
              address = ""

            [plugins."io.containerd.internal.v1.opt"]
              path = "{directory}/opt"
            """);
        var info = new ProcessStartInfo("containerd") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(config);
        var started = new ContainerdProcess(directory, Process.Start(info)!);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !started._process.HasExited)
        {
            if (File.Exists(started.Socket) && started.Ctr("version").ExitCode == 0)
            {
                return started;
            }

            await Task.Delay(100);
        }

        var output = string.Join('\n', started.Output.TakeLast(20));
        started.Dispose();
        throw new InvalidOperationException($"containerd did not answer on {started.Socket} within 30 s:\n{output}");
    }

    /// <summary>Runs ctr against this containerd, in <see cref="Namespace"/>.</summary>
    public (int ExitCode, string Output) Ctr(params string[] arguments) =>
        ShellCommand.Run("ctr", ["--address", Socket, "--namespace", Namespace, .. arguments]);

    /// <summary>Imports Docker's copy of an image (docker save | ctr images import), as an operator without a registry would.</summary>
    public void ImportFromDocker(string image = TestImage)
    {
        var archive = Path.Combine(Directory, "image.tar");
        var saved = ShellCommand.Run("docker", "save", "-o", archive, image);
        if (saved.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker save {image} failed: {saved.Output}");
        }

        var imported = Ctr("images", "import", archive);
        File.Delete(archive);
        if (imported.ExitCode != 0)
        {
            throw new InvalidOperationException($"ctr images import failed: {imported.Output}");
        }
    }

    public void Dispose()
    {
        // Tasks first: their shims outlive containerd otherwise.
        try
        {
            var tasks = Ctr("tasks", "ls", "-q");
            foreach (var id in tasks.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                Ctr("tasks", "kill", "-s", "SIGKILL", id);
                Ctr("tasks", "delete", "-f", id);
            }
        }
        catch (Exception)
        {
            // containerd is gone already: nothing to ask it.
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        _process.Dispose();
        UnmountBelow(Directory);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A mount still busy: left for the next boot's /tmp cleanup rather than failing the test.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Unmounts what containerd left mounted under the directory (overlay roots, shm), deepest first.</summary>
    private static void UnmountBelow(string directory)
    {
        var mounts = File.ReadAllLines("/proc/self/mounts")
            .Select(line => line.Split(' ')[1].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point.StartsWith(directory + "/", StringComparison.Ordinal))
            .OrderByDescending(point => point.Length);
        foreach (var point in mounts)
        {
            ShellCommand.Run("umount", "-l", point);
        }
    }
}
