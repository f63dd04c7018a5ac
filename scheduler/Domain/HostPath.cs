namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// Host paths as the node policy compares them: by path segments, never by string prefix, so that
/// /data2 is not taken for a path under /data. Both sides are made canonical first, lexically (as
/// the kernel would read the path were there no symbolic links): "/" separators, no empty or "."
/// segments, ".." taken back, no trailing slash. Symbolic links are the agent's to resolve; it
/// checks again before it binds anything.
/// </summary>
internal static class HostPath
{
    /// <summary>The canonical form of an absolute path; null for a path that is not absolute.</summary>
    public static string? Canonical(string path)
    {
        if (!path.StartsWith('/'))
        {
            return null;
        }

        var segments = new List<string>();
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            switch (segment)
            {
                case ".":
                    break;
                case "..":
                    // "/.." is "/" on Linux: there is nothing above the root to climb to.
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    break;
                default:
                    segments.Add(segment);
                    break;
            }
        }

        return "/" + string.Join('/', segments);
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="directory"/> or lies under it; both canonical.</summary>
    public static bool IsUnder(string path, string directory) =>
        path.StartsWith('/')
        && (directory == "/"
            || path == directory
            || (path.Length > directory.Length && path.StartsWith(directory, StringComparison.Ordinal) && path[directory.Length] == '/'));
}
