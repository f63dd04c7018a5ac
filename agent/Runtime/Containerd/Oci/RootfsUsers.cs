using System.Globalization;

namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>
/// A container's "user" (name or uid, with optional :group) as numbers, from the image's /etc/passwd and
/// /etc/group, with the same rules and words as Docker (runc's user.GetExecUser): a number needs no
/// entry, a name does; without an explicit group the user's primary group and every group that lists
/// the user (supplementary) apply.
/// </summary>
internal static class RootfsUsers
{
    /// <summary>runc's range for ids.</summary>
    private const long MaxId = int.MaxValue;

    /// <param name="user">"", "uid", "name", "uid:gid", "name:group"... ("" is root).</param>
    /// <param name="rootfsDirectories">The root file system's directories on the host, top layer first (overlay's upperdir then lowerdirs).</param>
    /// <exception cref="ContainerOperationException">A name that the image's files do not have, or an id out of range.</exception>
    public static OciUser Resolve(string user, IReadOnlyList<string> rootfsDirectories)
    {
        var colon = user.IndexOf(':', StringComparison.Ordinal);
        var userArgument = colon < 0 ? user : user[..colon];
        var groupArgument = colon < 0 ? "" : user[(colon + 1)..];
        var userNumber = Number(userArgument);
        var groupNumber = Number(groupArgument);

        long uid = 0;
        long gid = 0;
        var name = "";
        var passwd = Lines(rootfsDirectories, "etc/passwd");
        var entry = passwd
            .Select(line => line.Split(':'))
            .Where(fields => fields.Length >= 4 && Number(fields[2]) is not null && Number(fields[3]) is not null)
            .FirstOrDefault(fields =>
                userArgument.Length == 0 ? Number(fields[2]) == 0
                : userNumber is { } number ? Number(fields[2]) == number
                : fields[0] == userArgument);
        if (entry is not null)
        {
            name = entry[0];
            uid = Number(entry[2])!.Value;
            gid = Number(entry[3])!.Value;
        }
        else if (userArgument.Length > 0)
        {
            uid = userNumber ?? throw new ContainerOperationException($"CannotCreateContainerError: unable to find user {userArgument}: no matching entries in passwd file");
        }

        var additional = new List<uint>();
        if (groupArgument.Length > 0 || name.Length > 0)
        {
            var groups = Lines(rootfsDirectories, "etc/group")
                .Select(line => line.Split(':'))
                .Where(fields => fields.Length >= 3 && Number(fields[2]) is not null)
                .Where(fields =>
                    groupArgument.Length == 0 ? fields.Length >= 4 && fields[3].Split(',').Contains(name)
                    : groupNumber is { } number ? Number(fields[2]) == number
                    : fields[0] == groupArgument)
                .Select(fields => Number(fields[2])!.Value)
                .ToList();
            if (groupArgument.Length > 0)
            {
                gid = groups.Count > 0 ? groups[0]
                    : groupNumber ?? throw new ContainerOperationException($"CannotCreateContainerError: unable to find group {groupArgument}: no matching entries in group file");
            }
            else
            {
                // Supplementary groups only in the implicit form, as runc.
                additional.AddRange(groups.Select(g => (uint)g));
            }
        }

        if (uid is < 0 or > MaxId || gid is < 0 or > MaxId)
        {
            throw new ContainerOperationException($"CannotCreateContainerError: uids and gids must be in range 0-{MaxId}");
        }

        return new OciUser((uint)uid, (uint)gid, additional);
    }

    private static long? Number(string text) =>
        text.Length > 0 && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>
    /// The file's lines from the top-most layer that has it, comments and blanks left out. A layer's
    /// whiteout (a character device overlay reads as nothing) or a symbolic link ends the search: the
    /// file is then taken as missing rather than read through a link that would point into the host.
    /// </summary>
    private static IEnumerable<string> Lines(IReadOnlyList<string> rootfsDirectories, string relative)
    {
        foreach (var directory in rootfsDirectories)
        {
            var etc = new DirectoryInfo(Path.Combine(directory, Path.GetDirectoryName(relative)!));
            var file = new FileInfo(Path.Combine(directory, relative));
            if (etc.LinkTarget is null && !etc.Exists)
            {
                // A file where the directory should be is a whiteout of the whole directory.
                if (File.Exists(etc.FullName))
                {
                    return [];
                }

                continue;
            }

            if (file.LinkTarget is null && !file.Exists && !Directory.Exists(file.FullName))
            {
                continue;
            }

            // A length of 0 is also what a whiteout, a FIFO or a device shows: never read those.
            if (etc.LinkTarget is not null || file.LinkTarget is not null || !file.Exists || file.Length == 0)
            {
                return [];
            }

            try
            {
                return [.. File.ReadAllLines(file.FullName).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
            }
            catch (IOException)
            {
                return [];
            }
            catch (UnauthorizedAccessException)
            {
                return [];
            }
        }

        return [];
    }
}
