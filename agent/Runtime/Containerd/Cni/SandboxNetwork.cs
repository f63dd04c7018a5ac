namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>The network a container was given by <see cref="CniNetwork.SetUpAsync"/>.</summary>
/// <param name="NetworkNamespacePath">The namespace to put the container in; null on the host's network.</param>
/// <param name="Address">The container's address on the bridge; null in modes host and none.</param>
/// <param name="Ports">The host ports published to it (host address, host port, container port, protocol).</param>
internal sealed record SandboxNetwork(string? NetworkNamespacePath, System.Net.IPAddress? Address, IReadOnlyList<PortSpec> Ports);
