using Grpc.Core;

namespace Orchestrator.Agent.Runtime.Containerd;

internal sealed partial class ContainerdRuntime
{
    /// <summary>
    /// A crash between a container's removal steps (or in the middle of a create) can leave its network
    /// (namespace, address lease, port mappings), its files, and a create's lease and snapshot behind
    /// with no container to own them. Everything of a container id containerd no longer has goes. Run
    /// at agent start, when no create of ours is in flight: a create's snapshot (key = the container's
    /// id) still held by its crashed create's lease would otherwise make the same task's next create
    /// fail as a name conflict until the lease expired.
    /// </summary>
    public async Task RemoveLeftoversAsync(CancellationToken cancellation)
    {
        var leases = await CallAsync(async () => await _clients.Leases.ListAsync(new global::Containerd.Services.Leases.V1.ListRequest(), cancellationToken: cancellation));
        foreach (var lease in leases.Leases.Where(l => l.Id.StartsWith(CreateLeasePrefix, StringComparison.Ordinal)))
        {
            await DeleteLeaseAsync(lease.Id);
        }

        var listed = await CallAsync(async () => await _clients.Containers.ListAsync(new global::Containerd.Services.Containers.V1.ListContainersRequest(), cancellationToken: cancellation));
        var existing = listed.Containers.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        await RemoveOrphanSnapshotsAsync(existing, cancellation);
        await _network.RemoveLeftoversAsync(existing, cancellation);
        foreach (var directory in new[] { LogsDirectory, SandboxDirectory, FifoDirectory })
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

    /// <summary>Active snapshots of ours (keyed by a container id) whose container is gone; an unpack's "extract-" ones are the images'.</summary>
    private async Task RemoveOrphanSnapshotsAsync(IReadOnlySet<string> existing, CancellationToken cancellation)
    {
        var orphans = new List<string>();
        await CallAsync(async () =>
        {
            using var call = _clients.Snapshots.List(new global::Containerd.Services.Snapshots.V1.ListSnapshotsRequest { Snapshotter = _options.Snapshotter }, cancellationToken: cancellation);
            while (await call.ResponseStream.MoveNext(cancellation))
            {
                orphans.AddRange(call.ResponseStream.Current.Info
                    .Where(i => i.Kind == global::Containerd.Services.Snapshots.V1.Kind.Active && !i.Name.StartsWith("extract-", StringComparison.Ordinal) && !existing.Contains(i.Name))
                    .Select(i => i.Name));
            }

            return true;
        });
        foreach (var key in orphans)
        {
            try
            {
                await _clients.Snapshots.RemoveAsync(new global::Containerd.Services.Snapshots.V1.RemoveSnapshotRequest { Snapshotter = _options.Snapshotter, Key = key }, cancellationToken: cancellation);
            }
            catch (RpcException e) when (!ContainerdClients.IsUnreachable(e))
            {
                // Gone meanwhile, or a parent of another: the collector's, then.
            }
        }
    }
}
