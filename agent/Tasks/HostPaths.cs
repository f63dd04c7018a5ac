namespace Orchestrator.Agent.Tasks;

/// <summary>
/// Whether a host path lies under one of the paths the agent allows, compared by path segments (so
/// /data2 is not under /data) after following every symbolic link of the part that exists: a link
/// under an allowed directory that points at / (which a task could have made there) does not pass.
/// </summary>
internal static class HostPaths
{
    private const int MaxLinks = 40; // as the kernel's ELOOP limit

    /// <summary>Absolute, without "." or ".." segments, doubled or trailing slashes.</summary>
    public static string Normalize(string path)
    {
        var full = Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    /// <summary>
    /// A path as the task gave it must already be normal: "/data/x/../../etc" is refused rather than
    /// read one way here and another way by the engine.
    /// </summary>
    public static bool IsNormal(string path) => path.StartsWith('/') && Normalize(path) == (path.Length > 1 ? path.TrimEnd('/') : path);

    public static bool IsUnder(string path, string root) =>
        root == "/" || path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    /// <summary>
    /// The path with each symbolic link of its existing part followed, segment by segment as the
    /// kernel does; what does not exist yet is kept as it is.
    /// </summary>
    /// <exception cref="IOException">A segment cannot be looked at (permission denied) or links loop.</exception>
    public static string Resolve(string path)
    {
        var pending = new Stack<string>(Segments(path).Reverse());
        var current = "/";
        var links = 0;
        while (pending.TryPop(out var segment))
        {
            switch (segment)
            {
                case ".":
                    continue;
                case "..":
                    current = Path.GetDirectoryName(current) ?? "/";
                    continue;
            }

            var next = current == "/" ? "/" + segment : current + "/" + segment;
            FileSystemInfo entry = new FileInfo(next);
            string? target;
            try
            {
                if (!entry.Exists && !Directory.Exists(next) && entry.LinkTarget is null)
                {
                    // Nothing there: the rest cannot hold a link either.
                    return Normalize(string.Join('/', [next, .. pending]));
                }

                target = entry.LinkTarget;
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"permission denied looking at {next}", e);
            }

            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new IOException($"too many symbolic links at {next}");
            }

            foreach (var part in Segments(target).Reverse())
            {
                pending.Push(part);
            }

            if (target.StartsWith('/'))
            {
                current = "/";
            }
        }

        return current;
    }

    /// <summary>The allowed root that <paramref name="path"/> lies under once both are resolved; null when none.</summary>
    /// <exception cref="IOException">The path cannot be looked at.</exception>
    public static string? AllowingRoot(string path, IReadOnlyList<string> roots)
    {
        var resolved = Resolve(path);
        foreach (var root in roots)
        {
            string resolvedRoot;
            try
            {
                resolvedRoot = Resolve(root);
            }
            catch (IOException)
            {
                resolvedRoot = root;
            }

            if (IsUnder(resolved, resolvedRoot))
            {
                return root;
            }
        }

        return null;
    }

    private static string[] Segments(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
