namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// What a container takes from its image (the OCI image config of the host's platform), and the
/// snapshot its root file system is prepared from.
/// </summary>
/// <param name="Name">The image's name in containerd, normalised ("docker.io/library/busybox:latest").</param>
/// <param name="ChainId">The OCI chain id of the image's layers: the committed snapshot a container's root is prepared from.</param>
/// <param name="StopSignal">The image's STOPSIGNAL, empty for SIGTERM.</param>
internal sealed record ImageConfig(
    string Name,
    string ChainId,
    IReadOnlyList<string> Environment,
    IReadOnlyList<string> EntryPoint,
    IReadOnlyList<string> Command,
    string User,
    string WorkingDirectory,
    string StopSignal);
