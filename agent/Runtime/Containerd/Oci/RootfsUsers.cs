namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>A container's "user" (name or uid, with optional :group) as numbers, from the image's /etc/passwd and /etc/group. (helper B)</summary>
internal static class RootfsUsers
{
    /// <param name="rootfsDirectories">The root file system's directories on the host, top layer first (overlay's upperdir then lowerdirs).</param>
    /// <exception cref="ContainerOperationException">A name that the image's files do not have.</exception>
    public static OciUser Resolve(string user, IReadOnlyList<string> rootfsDirectories) =>
        user.Length == 0 ? OciUser.Root : throw new NotImplementedException(user + rootfsDirectories.Count);
}
