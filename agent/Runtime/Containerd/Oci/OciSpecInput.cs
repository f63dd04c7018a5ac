namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>Everything <see cref="OciSpecBuilder"/> turns into one container's OCI runtime spec.</summary>
/// <param name="NetworkNamespacePath">The network namespace the container joins; null: the host's network.</param>
/// <param name="HostsFile">The /etc/hosts written for this container (bind-mounted).</param>
/// <param name="ResolvConfFile">The /etc/resolv.conf written for this container (bind-mounted).</param>
/// <param name="HostnameFile">The /etc/hostname written for this container (bind-mounted).</param>
/// <param name="CgroupsPath">The container's cgroup, e.g. "/orchestrator/ID" (cgroupfs).</param>
/// <param name="InitPath">A host binary bind-mounted as the container's PID 1 (docker-init/tini); null: none.</param>
/// <param name="VolumePath">The host directory of a named volume (<see cref="MountKind.Volume"/>).</param>
/// <param name="User">The user the process runs as, resolved against the image's /etc/passwd and /etc/group.</param>
internal sealed record OciSpecInput(
    ContainerSpec Spec,
    ImageConfig Image,
    string? NetworkNamespacePath,
    string HostsFile,
    string ResolvConfFile,
    string HostnameFile,
    string CgroupsPath,
    string? InitPath,
    Func<string, string> VolumePath,
    OciUser User);

/// <summary>A process's numeric identity in the container.</summary>
internal sealed record OciUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids)
{
    public static readonly OciUser Root = new(0, 0, []);
}
