namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>Images in containerd's store: resolved to their config, unpacked into snapshots, pulled where missing. (helper A2)</summary>
internal sealed class ContainerdImages(ContainerdClients clients, ContainerdOptions options)
{
    /// <summary>The image's config, its layers unpacked into <see cref="ContainerdOptions.Snapshotter"/>; pulled first where it is not in the store.</summary>
    /// <exception cref="ImagePullException">It is missing and cannot be pulled ("CannotPullContainerError: ...").</exception>
    /// <exception cref="RuntimeUnavailableException">containerd cannot be reached.</exception>
    public Task<ImageConfig> EnsureAsync(string reference, CancellationToken cancellation) => throw new NotImplementedException($"helper A2 {clients.Namespace} {options.Snapshotter} {reference}");

    /// <summary>A reference as containerd names images: "busybox" is "docker.io/library/busybox:latest".</summary>
    public static string Normalize(string reference) => throw new NotImplementedException(reference);
}
