namespace Orchestrator.Agent.Runtime.Containerd;

internal sealed partial class ContainerdRuntime
{
    /// <summary>
    /// A crash between a container's removal steps (or in the middle of a create) can leave its network
    /// (namespace, address lease, port mappings) and its files behind with no container to own them.
    /// Everything of a container id containerd no longer has goes; snapshots need nothing here, as
    /// containerd's collector removes those no container or lease refers to.
    /// </summary>
    public async Task RemoveLeftoversAsync(CancellationToken cancellation)
    {
        var listed = await CallAsync(async () => await _clients.Containers.ListAsync(new global::Containerd.Services.Containers.V1.ListContainersRequest(), cancellationToken: cancellation));
        var existing = listed.Containers.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        await _network.RemoveLeftoversAsync(existing, cancellation);
        foreach (var directory in new[] { LogsDirectory, SandboxDirectory })
        {
            if (!System.IO.Directory.Exists(directory))
            {
                continue;
            }

            foreach (var owned in System.IO.Directory.EnumerateDirectories(directory).Where(d => !existing.Contains(Path.GetFileName(d))))
            {
                DeleteDirectory(owned);
            }
        }
    }
}
