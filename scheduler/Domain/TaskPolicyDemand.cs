using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// What one task of a definition needs its node's policy (<see cref="NodePolicy"/>) to allow, worked
/// out once per definition, beside what it needs in resources (<see cref="TaskResourceDemand"/>).
/// Most definitions need nothing, and their placements then skip the policy filter altogether.
/// </summary>
/// <param name="Privileged">A container of it is privileged, or adds a capability that amounts to it (<see cref="Contract.ContainerPrivileges"/>).</param>
/// <param name="HostPaths">The canonical source paths of its host volumes, each once, in the order declared.</param>
internal sealed record TaskPolicyDemand(bool Privileged, IReadOnlyList<string> HostPaths)
{
    public static readonly TaskPolicyDemand Nothing = new(false, []);

    public bool IsNothing => !Privileged && HostPaths.Count == 0;

    public static TaskPolicyDemand Of(Contract.TaskDefinition spec)
    {
        var privileged = spec.ContainerDefinitions.Any(c => Contract.ContainerPrivileges.NeedsPrivilege(c, spec.NetworkMode));
        var paths = new List<string>();
        foreach (var volume in spec.Volumes)
        {
            if (volume.Host is { SourcePath.Length: > 0 } host)
            {
                // A path that is not absolute (validation refuses it) is kept as written: it lies under no directory.
                var path = HostPath.Canonical(host.SourcePath) ?? host.SourcePath;
                if (!paths.Contains(path, StringComparer.Ordinal))
                {
                    paths.Add(path);
                }
            }
        }

        return !privileged && paths.Count == 0 ? Nothing : new TaskPolicyDemand(privileged, paths);
    }

    /// <summary>The first of its host paths the policy does not allow, or null.</summary>
    public string? FirstPathOutside(NodePolicy policy)
    {
        foreach (var path in HostPaths)
        {
            if (!policy.AllowsHostPath(path))
            {
                return path;
            }
        }

        return null;
    }
}
