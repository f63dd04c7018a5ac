namespace Orchestrator.Contracts.V1;

/// <summary>
/// What makes a container "privileged" for a node's policy (Agent:AllowPrivileged): the scheduler places
/// such a task only where it is allowed and the agent refuses it elsewhere, so both read it here.
/// </summary>
public static class ContainerPrivileges
{
    /// <summary>
    /// Capabilities that hand a container the host, or what is not namespaced on it, as surely as
    /// <c>privileged</c> does: mounting and namespaces (SYS_ADMIN), kernel modules, raw device I/O,
    /// reading any file by handle (the "shocker" escape of DAC_READ_SEARCH), eBPF and perf (kernel memory),
    /// the node's clock, the LSM policy that confines containers, and ALL of them. A policy that refuses
    /// privileged refuses these too, or it would be a formality.
    /// </summary>
    public static readonly IReadOnlySet<string> HostEquivalentCapabilities = new HashSet<string>(
        ["ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF", "PERFMON", "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE"],
        StringComparer.Ordinal);

    /// <summary>On the node's own network (networkMode host), configuring it is configuring the node.</summary>
    public const string HostNetworkCapability = "NET_ADMIN";

    public static bool NeedsPrivilege(ContainerDefinition container, string networkMode) =>
        container.Privileged || HostEquivalentCapability(container, networkMode) is not null;

    /// <summary>The first capability the container adds that gives it the host, or null.</summary>
    public static string? HostEquivalentCapability(ContainerDefinition container, string networkMode) =>
        container.LinuxParameters?.Capabilities?.Add.FirstOrDefault(capability =>
            Normal(capability) is var name && (HostEquivalentCapabilities.Contains(name) || (name == HostNetworkCapability && networkMode == "host")));

    /// <summary>As Docker reads a capability: any case, with or without "CAP_" (the scheduler refuses those spellings; the agent does not rely on it).</summary>
    private static string Normal(string capability)
    {
        var upper = capability.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
    }
}
