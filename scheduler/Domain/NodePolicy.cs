namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// What a node's agent lets tasks do (its Agent:AllowPrivileged and Agent:AllowedHostPaths settings),
/// as it said at its last registration. Placement sends a node only tasks its policy allows; the agent
/// refuses the others itself. Nothing in it is secret.
/// </summary>
/// <param name="AllowedHostPaths">Canonical directories (<see cref="HostPath.Canonical"/>) a host volume must lie under.</param>
internal sealed record NodePolicy(bool AllowPrivileged, IReadOnlyList<string> AllowedHostPaths)
{
    /// <summary>An agent that said nothing allows nothing: no privileged containers, no host volumes.</summary>
    public static readonly NodePolicy None = new(false, []);

    /// <param name="path">A canonical path.</param>
    public bool AllowsHostPath(string path)
    {
        foreach (var directory in AllowedHostPaths)
        {
            if (HostPath.IsUnder(path, directory))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>By content: an agent registering again with the same settings changes nothing (and costs no write).</summary>
    public bool Equals(NodePolicy? other) =>
        other is not null
        && AllowPrivileged == other.AllowPrivileged
        && AllowedHostPaths.SequenceEqual(other.AllowedHostPaths, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(AllowPrivileged, AllowedHostPaths.Count);
}
