using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>One linuxParameters.tmpfs entry: where, how big, and mount options from Docker's tmpfs list.</summary>
internal static partial class TmpfsValidator
{
    /// <summary>The flags Docker passes to a tmpfs mount (its --tmpfs option list, without the size it takes from size).</summary>
    private static readonly string[] FlagList =
    [
        "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async", "dirsync", "remount",
        "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime",
    ];

    private static readonly FrozenSet<string> Flags = FlagList.ToFrozenSet(StringComparer.Ordinal);

    // mode=1777, uid=1000, gid=1000, nr_inodes=4k, nr_blocks=100 (the kernel takes k, m and g on the counts).
    [GeneratedRegex("^(mode=[0-7]{1,4}|uid=[0-9]{1,10}|gid=[0-9]{1,10}|nr_inodes=[0-9]{1,19}[kKmMgG]?|nr_blocks=[0-9]{1,19}[kKmMgG]?)$")]
    private static partial Regex ValuedOption();

    public static void Check(Contract.Tmpfs tmpfs, string at)
    {
        Paths.RequireAbsolute(tmpfs.ContainerPath, $"{at}.containerPath", rootAllowed: false);
        TaskDefinitionValidator.CheckRange(tmpfs.Size, 1, Limits.MaxTmpfsSizeMiB, $"{at}.size", "MiB");
        Limits.Count(tmpfs.MountOptions, Limits.MaxTmpfsMountOptions, $"{at}.mountOptions");
        for (var i = 0; i < tmpfs.MountOptions.Count; i++)
        {
            var option = tmpfs.MountOptions[i];
            if (!Flags.Contains(option) && !(ValuedOption().IsMatch(option) && IdFits(option)))
            {
                throw RequestException.Invalid($"{at}.mountOptions[{i}]", $"\"{Echo.Clip(option)}\" is not a tmpfs mount option: use one of {string.Join(", ", FlagList)}, or mode=OCTAL, uid=N, gid=N, nr_inodes=N, nr_blocks=N");
            }
        }
    }

    /// <summary>A uid or gid is 32 bits, and (uid_t)-1 means "no change" to the kernel.</summary>
    private static bool IdFits(string option) =>
        !(option.StartsWith("uid=", StringComparison.Ordinal) || option.StartsWith("gid=", StringComparison.Ordinal))
        || (uint.TryParse(option.AsSpan(4), out var id) && id != uint.MaxValue);
}
