using System.Collections.Frozen;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// Linux capability names as ECS writes them: upper case, without the CAP_ prefix ("NET_ADMIN").
/// Docker would also take "cap_net_admin"; one spelling keeps the stored definition comparable and is
/// what the agent passes on. A spelling Docker would take is refused with the one to write instead.
/// </summary>
internal static class LinuxCapabilities
{
    /// <summary>Every capability, then all of them at once.</summary>
    public const string All = "ALL";

    /// <summary>include/uapi/linux/capability.h, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40).</summary>
    public static readonly FrozenSet<string> Names = new[]
    {
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool IsName(string name) => name == All || Names.Contains(name);

    /// <summary>The spelling to write for one Docker would also take ("cap_sys_time" → "SYS_TIME"), or null.</summary>
    public static string? Respelling(string name)
    {
        var upper = name.ToUpperInvariant();
        var bare = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
        return IsName(bare) ? bare : null;
    }
}
