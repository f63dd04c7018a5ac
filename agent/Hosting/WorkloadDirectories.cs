using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Tasks;

namespace Orchestrator.Agent.Hosting;

/// <summary>
/// At agent start: makes the agent's own host-path directory (when Agent:AllowedHostPaths is not set)
/// and the secrets directory (0700), and says once when the secrets directory is not on a tmpfs.
/// Nothing here stops the agent: a task that needs what could not be made fails to start with the reason.
/// </summary>
internal static partial class WorkloadDirectories
{
    private static readonly string[] MemoryFileSystems = ["tmpfs", "ramfs"];

    public static void Prepare(AgentOptions options, WorkloadSettings settings, ILogger log)
    {
        if (options.AllowedHostPaths.Trim().Length == 0)
        {
            var own = WorkloadSettings.OwnVolumesDirectory(options);
            try
            {
                Directory.CreateDirectory(own);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogCannotCreate(log, "Agent:AllowedHostPaths", own, e.Message);
            }
        }

        try
        {
            SecretFiles.CreateRoot(settings.SecretsDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCannotCreate(log, "Agent:SecretsDirectory", settings.SecretsDirectory, e.Message);
            return;
        }

        var fileSystem = FileSystemOf(settings.SecretsDirectory, ReadMounts());
        if (fileSystem is null || !MemoryFileSystems.Contains(fileSystem))
        {
            LogSecretsOnDisk(log, settings.SecretsDirectory, fileSystem ?? "unknown");
        }
    }

    /// <summary>
    /// The type of the file system <paramref name="path"/> lies on, from /proc/mounts' lines: that of
    /// the longest mount point above it (by segments, after following links). Null when none is found.
    /// </summary>
    public static string? FileSystemOf(string path, IEnumerable<string> mounts)
    {
        string resolved;
        try
        {
            resolved = HostPaths.Resolve(path);
        }
        catch (IOException)
        {
            resolved = path;
        }

        string? best = null;
        string? type = null;
        foreach (var line in mounts)
        {
            var fields = line.Split(' ');
            if (fields.Length < 3)
            {
                continue;
            }

            // /proc/mounts escapes spaces and the like as octal (\040).
            var mountPoint = System.Text.RegularExpressions.Regex.Unescape(fields[1]);
            if (HostPaths.IsUnder(resolved, mountPoint) && (best is null || mountPoint.Length >= best.Length))
            {
                best = mountPoint;
                type = fields[2];
            }
        }

        return type;
    }

    private static IEnumerable<string> ReadMounts()
    {
        try
        {
            return File.ReadAllLines("/proc/mounts");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "{Setting}: cannot create {Path} ({Problem}); tasks that need it fail to start")]
    private static partial void LogCannotCreate(ILogger logger, string setting, string path, string problem);

    [LoggerMessage(2, LogLevel.Warning, "Agent:SecretsDirectory {Path} is on {FileSystem}, not a tmpfs: secret files of tasks are written to disk there. Point Agent:SecretsDirectory at a tmpfs (the systemd unit's /run/orchestrator-agent is one)")]
    private static partial void LogSecretsOnDisk(ILogger logger, string path, string fileSystem);
}
