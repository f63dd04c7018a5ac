using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// Absolute paths, of the node or inside a container, written the one way they resolve: a path that
/// names a place in two spellings ("/data/", "/data//x", "/a/../data") would slip past a comparison of
/// paths (the agent's allowed host paths, one mount per container path) while meaning the same place.
/// </summary>
internal static class Paths
{
    /// <summary>Refuses all but an absolute, normalized path; "/" only when <paramref name="rootAllowed"/>.</summary>
    /// <param name="mounted">A path Docker mounts (a source or a target), in whose syntax ':' is a separator.</param>
    public static void RequireAbsolute(string path, string field, bool rootAllowed, bool mounted = true)
    {
        if (path.Length == 0)
        {
            throw RequestException.Invalid(field, "is required: an absolute path");
        }

        if (path.Length > Limits.MaxPathLength)
        {
            throw RequestException.Invalid(field, $"must be at most {Limits.MaxPathLength} characters, not {path.Length}");
        }

        if (path.Any(char.IsControl))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(path)}\" has a control character");
        }

        // Docker's volume syntax (HostConfig.Binds, "source:target:options") splits at ':'.
        if (mounted && path.Contains(':', StringComparison.Ordinal))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(path)}\" has a ':', which Docker's volume syntax reads as a separator");
        }

        if (path == "/")
        {
            if (!rootAllowed)
            {
                throw RequestException.Invalid(field, "cannot be \"/\": Docker mounts nothing over a container's root");
            }

            return;
        }

        if (!IsNormalized(path))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(path)}\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="directory"/> or lies under it (both normalized).</summary>
    public static bool IsAtOrUnder(string path, string directory) =>
        path == directory || path.StartsWith(directory + "/", StringComparison.Ordinal);

    private static bool IsNormalized(string path) =>
        path[0] == '/' && path[1..].Split('/').All(segment => segment is not ("" or "." or ".."));
}
