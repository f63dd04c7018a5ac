namespace Orchestrator.Agent.Tasks;

/// <summary>
/// The secret files of tasks on this host: &lt;Agent:SecretsDirectory&gt;/&lt;node&gt;/&lt;task&gt;/&lt;container&gt;/&lt;name&gt;,
/// bind-mounted read-only at /run/secrets. Several agents on one host (tests, Compose) may share the
/// directory: each has its node's own and touches nothing else. The root, the node's and each task's
/// directory are the agent's alone (0700); a container's directory (0755) and files (0444) are readable by whatever user the container
/// runs as, which reaches them only through its own mount. Modes are set explicitly, not left to the
/// umask (the systemd unit's 0027 would hide them from a non-root container user).
/// </summary>
internal static class SecretFiles
{
    public const string ContainerPath = "/run/secrets";

    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Readable = Private | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private const UnixFileMode ReadOnly = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>This node's directory under the root: the only one its agent writes or sweeps.</summary>
    public static string NodeDirectory(string root, string node) => Path.Combine(root, node);

    public static string ContainerDirectory(string root, string node, string taskId, string container) => Path.Combine(root, node, taskId, container);

    /// <summary>Creates the root directory (0700) where it is missing.</summary>
    public static void CreateRoot(string root) => CreatePrivate(root);

    /// <summary>Writes one container's files, replacing whatever an earlier attempt of the same task left.</summary>
    /// <exception cref="IOException">The directory cannot be written (the message names paths, never a value).</exception>
    /// <exception cref="UnauthorizedAccessException">The same, for want of permission.</exception>
    public static void Write(string root, string node, string taskId, string container, IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> files)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("secret files are for Linux hosts");
        }

        CreatePrivate(root);
        CreatePrivate(NodeDirectory(root, node));
        CreatePrivate(Path.Combine(root, node, taskId));
        var directory = ContainerDirectory(root, node, taskId, container);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, Readable);
        foreach (var (name, value) in files)
        {
            var path = Path.Combine(directory, name);
            using (var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            {
                stream.Write(value.Span);
            }

            File.SetUnixFileMode(path, ReadOnly);
        }
    }

    /// <summary>Removes a task's files; a task without any is fine.</summary>
    public static void RemoveTask(string root, string node, string taskId)
    {
        var directory = Path.Combine(root, node, taskId);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The tasks that have a directory under this node's.</summary>
    public static IReadOnlyList<string> Tasks(string root, string node) =>
        NodeDirectory(root, node) is var directory && Directory.Exists(directory)
            ? [.. Directory.EnumerateDirectories(directory).Select(Path.GetFileName).OfType<string>()]
            : [];

    private static void CreatePrivate(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("secret files are for Linux hosts");
        }

        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, Private);
            File.SetUnixFileMode(directory, Private);
        }
    }
}
