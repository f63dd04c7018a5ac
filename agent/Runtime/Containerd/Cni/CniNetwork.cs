namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>
/// Containers' networks through the CNI plugins (bridge + portmap + firewall, as nerdctl sets them up),
/// each in a named network namespace of its own. What was set up for a container is kept on disk, so a
/// restarted agent tears it down the same way. (helper C)
/// </summary>
internal sealed class CniNetwork(ContainerdOptions options, string stateDirectory)
{
    /// <param name="networkMode">"bridge" (the default when empty), "none" or "host".</param>
    /// <exception cref="ContainerOperationException">A plugin missing, a host port already taken, the plugin failed: the reason, nothing left behind.</exception>
    public Task<SandboxNetwork> SetUpAsync(string containerId, string networkMode, IReadOnlyList<PortSpec> ports, CancellationToken cancellation) =>
        throw new NotImplementedException(options.BridgeName + stateDirectory + containerId + networkMode + ports.Count);

    /// <summary>Undoes <see cref="SetUpAsync"/> (ports, address, namespace); tearing down what is not there is fine.</summary>
    public Task TearDownAsync(string containerId, CancellationToken cancellation) => throw new NotImplementedException(containerId);

    /// <summary>Tears down every container network kept on disk whose container is not in <paramref name="keep"/> (after a crash).</summary>
    /// <returns>The containers torn down.</returns>
    public Task<IReadOnlyList<string>> RemoveLeftoversAsync(IReadOnlySet<string> keep, CancellationToken cancellation) => throw new NotImplementedException(keep.Count.ToString());
}
