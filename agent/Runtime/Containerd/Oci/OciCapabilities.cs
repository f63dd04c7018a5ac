namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>A container's capabilities as Docker computes them: its default set, plus the added, minus the dropped, "ALL" either way.</summary>
internal static class OciCapabilities
{
    /// <summary>Docker's (and containerd's) default set, in their order.</summary>
    public static readonly IReadOnlyList<string> Default =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>Every capability Linux has named (0 to 40). runc leaves out those the running kernel lacks.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>
    /// Docker's TweakCapabilities: names in any case, with or without "CAP_". Dropping ALL starts from
    /// nothing, adding ALL from everything; then the others are added, then dropped.
    /// </summary>
    /// <exception cref="ContainerOperationException">A name Linux does not have.</exception>
    public static IReadOnlyList<string> Of(IReadOnlyList<string> added, IReadOnlyList<string> dropped)
    {
        var adds = added.Select(Normalise).ToList();
        var drops = dropped.Select(Normalise).ToList();
        var result = adds.Contains("ALL") ? [.. All]
            : drops.Contains("ALL") ? new List<string>()
            : [.. Default];
        foreach (var add in adds.Where(a => a != "ALL" && !result.Contains(a)))
        {
            result.Add(add);
        }

        if (!adds.Contains("ALL"))
        {
            result.RemoveAll(c => drops.Contains(c) && !adds.Contains(c));
        }
        else
        {
            result.RemoveAll(drops.Contains);
        }

        return result;
    }

    private static string Normalise(string name)
    {
        var upper = name.Trim().ToUpperInvariant();
        if (upper == "ALL")
        {
            return upper;
        }

        var full = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
        return All.Contains(full) ? full : throw new ContainerOperationException($"CannotCreateContainerError: unknown capability: \"{full}\"");
    }
}
