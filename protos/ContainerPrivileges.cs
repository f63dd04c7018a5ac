namespace Orchestrator.Contracts.V1;

/// <summary>
/// What makes a container "privileged" for a node's policy (Agent:AllowPrivileged): the scheduler places
/// such a task only where it is allowed and the agent refuses it elsewhere, so both read it here.
/// </summary>
public static class ContainerPrivileges
{
    /// <summary>
    /// Capabilities that hand a container the host as surely as <c>privileged</c> does: mounting and
    /// namespaces (SYS_ADMIN), kernel modules, raw device I/O, reading any file by handle (the "shocker"
    /// escape of DAC_READ_SEARCH), and ALL of them. A policy that refuses privileged refuses these too,
    /// or it would be a formality.
    /// </summary>
    public static readonly IReadOnlySet<string> HostEquivalentCapabilities =
        new HashSet<string>(["ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH"], StringComparer.Ordinal);

    public static bool NeedsPrivilege(ContainerDefinition container) =>
        container.Privileged || HostEquivalentCapability(container) is not null;

    /// <summary>The first capability the container adds that gives it the host, or null.</summary>
    public static string? HostEquivalentCapability(ContainerDefinition container) =>
        container.LinuxParameters?.Capabilities?.Add.FirstOrDefault(HostEquivalentCapabilities.Contains);
}
