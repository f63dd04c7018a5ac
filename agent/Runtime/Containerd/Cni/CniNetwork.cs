namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>
/// Containers' networks through the CNI plugins (bridge + portmap + firewall, as nerdctl sets them up),
/// each in a named network namespace of its own. What was set up for a container is kept on disk, so a
/// restarted agent tears it down the same way.
/// </summary>
/// <remarks>
/// The agent runs the plugins itself (CNI spec 1.0, else 0.4): ADD down the chain with each plugin's
/// result as the next one's prevResult, DEL up it with the last result. The state file is written before
/// the namespace is made and after every plugin, so whatever a crash leaves is found and undone by
/// <see cref="RemoveLeftoversAsync"/>.
/// </remarks>
internal sealed class CniNetwork(ContainerdOptions options, string stateDirectory)
{
    private readonly CniPlugin _plugins = new(options.CniBinDirectory);
    private readonly CniStateStore _states = new(Path.Combine(stateDirectory, "cni"));

    // Checking a host port and recording it as ours must be one step, or two containers set up at once
    // could both be given it (portmap's DNAT rules do not hold the port the way a listener would).
    private readonly SemaphoreSlim _portsGate = new(1, 1);
    private Dictionary<string, IReadOnlyList<PortSpec>>? _published;
    private string? _cniVersion;

    /// <param name="networkMode">"bridge" (the default when empty), "none" or "host".</param>
    /// <exception cref="ContainerOperationException">A plugin missing, a host port already taken, the plugin failed: the reason, nothing left behind.</exception>
    public async Task<SandboxNetwork> SetUpAsync(string containerId, string networkMode, IReadOnlyList<PortSpec> ports, CancellationToken cancellation)
    {
        var mode = string.IsNullOrEmpty(networkMode) ? "bridge" : networkMode;
        if (mode == "host")
        {
            // The host's own network: the container binds its ports itself, as with Docker.
            return new SandboxNetwork(null, null, ports);
        }
        if (mode is not ("bridge" or "none"))
        {
            throw new ContainerOperationException($"CannotCreateContainerError: network mode {mode} is not supported on containerd");
        }
        var bridge = mode == "bridge";
        EnsurePlugins(bridge ? ports.Count > 0 ? ["loopback", "bridge", "host-local", "portmap", "firewall"] : ["loopback", "bridge", "host-local", "firewall"] : ["loopback"]);
        var version = await CniVersionAsync(cancellation).ConfigureAwait(false);

        // A container made again under the same id (its removal interrupted): start from nothing.
        await TearDownAsync(containerId, cancellation).ConfigureAwait(false);

        var name = NetworkNamespaces.NameFor(containerId);
        var published = bridge ? await ReservePortsAsync(containerId, ports, cancellation).ConfigureAwait(false) : [];
        var attachments = new List<CniAttachment> { new([CniConfigs.Loopback(version)], 0, null) };
        if (bridge)
        {
            var ipam = Path.Combine(_states.Directory, "ipam");
            attachments.Add(new CniAttachment(CniConfigs.BridgeChain(version, options.BridgeName, options.Subnet, ipam, published), 0, null));
        }
        var state = new CniState(containerId, mode, name, NetworkNamespaces.PathOf(name), published, attachments);
        try
        {
            _states.Save(state);
            await NetworkNamespaces.CreateAsync(name, cancellation).ConfigureAwait(false);
            for (var i = 0; i < state.Attachments.Count; i++)
            {
                state = await AddAsync(state, i, cancellation).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // The file has every plugin that got through (the local copy lacks the failing attachment's progress).
            await UndoAfterFailureAsync(ReloadOr(state)).ConfigureAwait(false);
            if (ex is CniPluginException plugin)
            {
                throw new ContainerOperationException($"CannotCreateContainerError: CNI plugin {plugin.Plugin} failed: {plugin.Message}", plugin);
            }
            throw;
        }
        var address = bridge ? CniResults.ContainerAddress(state.Attachments[^1].Result) : null;
        return new SandboxNetwork(state.NetworkNamespacePath, address, published);
    }

    /// <summary>Undoes <see cref="SetUpAsync"/> (ports, address, namespace); tearing down what is not there is fine.</summary>
    public async Task TearDownAsync(string containerId, CancellationToken cancellation)
    {
        var state = _states.Load(containerId);
        if (state is null)
        {
            return;
        }
        var failures = await UndoAsync(state, cancellation).ConfigureAwait(false);
        if (failures.Count > 0)
        {
            // The state file stays: a later teardown (or the leftovers sweep) runs DEL again.
            throw new ContainerOperationException($"network teardown of {containerId} failed: {string.Join("; ", failures)}");
        }
        await ForgetAsync(containerId).ConfigureAwait(false);
    }

    /// <summary>Tears down every container network kept on disk whose container is not in <paramref name="keep"/> (after a crash).</summary>
    /// <returns>The containers torn down.</returns>
    public async Task<IReadOnlyList<string>> RemoveLeftoversAsync(IReadOnlySet<string> keep, CancellationToken cancellation)
    {
        var removed = new List<string>();
        foreach (var containerId in _states.List().Where(id => !keep.Contains(id)))
        {
            try
            {
                await TearDownAsync(containerId, cancellation).ConfigureAwait(false);
                removed.Add(containerId);
            }
            catch (Exception ex) when (ex is ContainerOperationException or IOException or System.Text.Json.JsonException)
            {
                // Kept on disk for the next sweep; one stuck network must not keep the others.
            }
        }
        return removed;
    }

    private void EnsurePlugins(IEnumerable<string> types)
    {
        foreach (var type in types)
        {
            if (!_plugins.Exists(type))
            {
                throw new ContainerOperationException($"CannotCreateContainerError: CNI plugin {type} not found in {_plugins.BinDirectory}; install containernetworking-plugins");
            }
        }
    }

    private async Task<string> CniVersionAsync(CancellationToken cancellation)
    {
        if (_cniVersion is { } known)
        {
            return known;
        }
        IReadOnlyList<string> versions;
        try
        {
            versions = await _plugins.VersionsAsync("bridge", cancellation).ConfigureAwait(false);
        }
        catch (CniPluginException ex)
        {
            throw new ContainerOperationException($"CannotCreateContainerError: CNI plugin bridge in {_plugins.BinDirectory} did not tell its version: {ex.Message}", ex);
        }
        return _cniVersion = CniConfigs.ChooseVersion(versions)
            ?? throw new ContainerOperationException($"CannotCreateContainerError: the CNI plugins in {_plugins.BinDirectory} speak {string.Join(", ", versions)}, none of {string.Join(", ", CniConfigs.SpokenVersions)}");
    }

    /// <summary>Ports on 0 given a free port; every port checked free on the host and among our containers; then recorded as ours.</summary>
    private async Task<IReadOnlyList<PortSpec>> ReservePortsAsync(string containerId, IReadOnlyList<PortSpec> ports, CancellationToken cancellation)
    {
        if (ports.Count == 0)
        {
            return [];
        }
        await _portsGate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            var published = Published();
            var others = published.Where(p => p.Key != containerId).SelectMany(p => p.Value).ToList();
            var concrete = new List<PortSpec>();
            foreach (var port in ports)
            {
                if (!string.IsNullOrEmpty(port.HostIp) && !System.Net.IPAddress.TryParse(port.HostIp, out _))
                {
                    throw new ContainerOperationException($"CannotCreateContainerError: host IP {port.HostIp} of port {port.ContainerPort} is not an address");
                }
                concrete.Add(port.HostPort != 0 ? port : ChooseFree(port, others.Concat(concrete).ToList()));
            }
            var taken = HostPorts.FindConflict(concrete, others) ?? concrete.FirstOrDefault(p => !HostPorts.IsFree(p));
            if (taken is not null)
            {
                throw new ContainerOperationException($"CannotCreateContainerError: {HostPorts.Describe(taken)}");
            }
            published[containerId] = concrete;
            return concrete;
        }
        finally
        {
            _portsGate.Release();
        }
    }

    private static PortSpec ChooseFree(PortSpec port, IReadOnlyList<PortSpec> taken)
    {
        // The kernel's choice is free of listeners but may be a port another container has by DNAT only.
        for (var attempt = 0; ; attempt++)
        {
            var chosen = port with { HostPort = HostPorts.ChooseFree(port) };
            if (attempt >= 20 || HostPorts.FindConflict([chosen], taken) is null)
            {
                return chosen;
            }
        }
    }

    private Dictionary<string, IReadOnlyList<PortSpec>> Published() =>
        _published ??= _states.LoadAll().ToDictionary(s => s.ContainerId, s => s.Ports);

    private async Task ForgetAsync(string containerId)
    {
        _states.Delete(containerId);
        await _portsGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            _published?.Remove(containerId);
        }
        finally
        {
            _portsGate.Release();
        }
    }

    private async Task<CniState> AddAsync(CniState state, int index, CancellationToken cancellation)
    {
        var attachment = state.Attachments[index];
        for (var i = 0; i < attachment.Plugins.Count; i++)
        {
            var config = CniConfigs.WithPrevResult(attachment.Plugins[i], attachment.Result);
            var result = await _plugins.RunAsync("ADD", state.ContainerId, state.NetworkNamespacePath, config, cancellation).ConfigureAwait(false);
            // A plugin that prints nothing passes the previous result on unchanged.
            attachment = attachment with { Added = i + 1, Result = result ?? attachment.Result };
            state = state with { Attachments = [.. state.Attachments.Select((a, n) => n == index ? attachment : a)] };
            _states.Save(state);
        }
        return state;
    }

    /// <summary>DEL for every plugin ADD was run for (the one that failed too: it may have left something), in reverse; then the namespace.</summary>
    /// <returns>What failed; empty when all is undone.</returns>
    private async Task<IReadOnlyList<string>> UndoAsync(CniState state, CancellationToken cancellation)
    {
        var failures = new List<string>();
        foreach (var attachment in state.Attachments.Reverse())
        {
            for (var i = Math.Min(attachment.Added, attachment.Plugins.Count - 1); i >= 0; i--)
            {
                var config = CniConfigs.WithPrevResult(attachment.Plugins[i], attachment.Result);
                try
                {
                    await _plugins.RunAsync("DEL", state.ContainerId, state.NetworkNamespacePath, config, cancellation).ConfigureAwait(false);
                }
                catch (CniPluginException ex)
                {
                    failures.Add($"CNI plugin {ex.Plugin}: {ex.Message}");
                }
            }
        }
        try
        {
            // Also when a DEL failed: whatever is left inside the namespace goes with it.
            await NetworkNamespaces.DeleteAsync(state.NetworkNamespace, cancellation).ConfigureAwait(false);
        }
        catch (ContainerOperationException ex)
        {
            failures.Add(ex.Message);
        }
        return failures;
    }

    private CniState ReloadOr(CniState state)
    {
        try
        {
            return _states.Load(state.ContainerId) ?? state;
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            return state;
        }
    }

    private async Task UndoAfterFailureAsync(CniState state)
    {
        try
        {
            // Not the caller's token: it may be the one that was cancelled, and the undo must run whole.
            if ((await UndoAsync(state, CancellationToken.None).ConfigureAwait(false)).Count == 0)
            {
                await ForgetAsync(state.ContainerId).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            // The state file stays for the leftovers sweep; the setup's own error is the one to report.
        }
    }
}
