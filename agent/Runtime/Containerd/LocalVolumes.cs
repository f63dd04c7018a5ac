namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// Named volumes for a runtime that has none (containerd): directories under the agent's own data
/// directory, their labels kept beside them, as nerdctl's local volumes. Only the "local" driver without
/// options. (helper B)
/// </summary>
internal sealed class LocalVolumes(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>The host directory of a volume (it need not exist yet).</summary>
    public string PathOf(string name) => throw new NotImplementedException(name);

    /// <exception cref="ContainerOperationException">A driver other than local, or driver options.</exception>
    public Task CreateAsync(VolumeSpec spec, CancellationToken cancellation) => throw new NotImplementedException(spec.Name);

    public Task<bool> ExistsAsync(string name, CancellationToken cancellation) => throw new NotImplementedException(name);

    public Task RemoveAsync(string name, CancellationToken cancellation) => throw new NotImplementedException(name);

    public Task<IReadOnlyList<LabelledResource>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation) => throw new NotImplementedException(labelKey + labelValue);
}
