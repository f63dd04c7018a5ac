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
    /// kernel does; what does not exist yet is kept as it is. Only "nothing there" means that: a
    /// segment that cannot be looked at (permission denied, an I/O error) is an error, since what it
    /// hides could be a link out of the allowed paths.
    /// </summary>
    /// <param name="readLink">For tests: as <see cref="ReadLink"/>.</param>
    /// <exception cref="IOException">A segment cannot be looked at or links loop.</exception>
    public static string Resolve(string path, Func<string, string?>? readLink = null)
    {
        readLink ??= ReadLink;
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
            string? target;
            try
            {
                target = readLink(next);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                // Nothing there: the rest cannot hold a link either.
                return Normalize(string.Join('/', [next, .. pending]));
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"permission denied looking at {next}", e);
            }
            catch (IOException e)
            {
                throw new IOException($"cannot look at {next}: {e.Message}", e);
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

            // The target is absolute (joined to the link's directory, which is free of links by now).
            current = "/";
        }

        return current;
    }

    /// <summary>
    /// readlink(2) of one path: the absolute target of a link, null when it is something else. Unlike
    /// FileInfo.Exists or LinkTarget, which answer "nothing" to any error on Linux, this throws.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing there.</exception>
    /// <exception cref="DirectoryNotFoundException">Nothing there.</exception>
    /// <exception cref="UnauthorizedAccessException">A directory on the way cannot be searched.</exception>
    /// <exception cref="IOException">Anything else that keeps it from being looked at.</exception>
    public static string? ReadLink(string path) => File.ResolveLinkTarget(path, returnFinalTarget: false)?.FullName;

    /// <summary>The allowed root that <paramref name="path"/> lies under once both are resolved; null when none.</summary>
    /// <exception cref="IOException">The path cannot be looked at.</exception>
    public static string? AllowingRoot(string path, IReadOnlyList<string> roots) => Locate(path, roots).Root;

    /// <summary>The path resolved, and the allowed root it lies under once both are resolved (null when none).</summary>
    /// <param name="readLink">For tests: as <see cref="ReadLink"/>.</param>
    /// <exception cref="IOException">The path cannot be looked at.</exception>
    public static (string Resolved, string? Root) Locate(string path, IReadOnlyList<string> roots, Func<string, string?>? readLink = null)
    {
        var resolved = Resolve(path, readLink);
        foreach (var root in roots)
        {
            string resolvedRoot;
            try
            {
                resolvedRoot = Resolve(root, readLink);
            }
            catch (IOException)
            {
                resolvedRoot = root;
            }

            if (IsUnder(resolved, resolvedRoot))
            {
                return (resolved, root);
            }
        }

        return (resolved, null);
    }

    private static string[] Segments(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
