using Containerd.Services.Diff.V1;
using Containerd.Services.Snapshots.V1;
using Grpc.Core;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>
/// Unpacks an image's layers into committed snapshots named by their chain ids, as containerd's
/// unpacker does (rootfs/apply.go): per layer, prepare an "extract-..." snapshot on the previous
/// chain id, apply the layer blob to its mounts, commit it as the layer's chain id. Layers already
/// unpacked (by any image sharing them) are skipped. The caller holds a lease (in the headers) so
/// containerd's garbage collector leaves the snapshots alone until the image references them.
/// </summary>
internal sealed class Unpacker(ContainerdClients clients, string snapshotter)
{
    public const string SnapshotRefLabel = "containerd.io/snapshot.ref";

    /// <summary>Unpacks the layers; the chain id of the whole image is committed when it returns.</summary>
    /// <exception cref="InvalidDataException">A layer's content is not what the image's config says it is.</exception>
    public async Task UnpackAsync(IReadOnlyList<BlobDescriptor> layers, IReadOnlyList<string> diffIds, Metadata headers, CancellationToken cancellation)
    {
        if (layers.Count != diffIds.Count)
        {
            throw new InvalidDataException($"the manifest has {layers.Count} layers, the config {diffIds.Count} diff ids");
        }

        var chain = OciDigest.ChainIds(diffIds);
        var parent = "";
        for (var i = 0; i < layers.Count; i++)
        {
            if (!await ExistsAsync(chain[i], headers, cancellation))
            {
                await ApplyAsync(layers[i], diffIds[i], chain[i], parent, headers, cancellation);
            }

            parent = chain[i];
        }
    }

    public async Task<bool> ExistsAsync(string chainId, Metadata? headers, CancellationToken cancellation)
    {
        try
        {
            await clients.Snapshots.StatAsync(new StatSnapshotRequest { Snapshotter = snapshotter, Key = chainId }, headers, cancellationToken: cancellation);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    private async Task ApplyAsync(BlobDescriptor layer, string diffId, string chainId, string parent, Metadata headers, CancellationToken cancellation)
    {
        var key = $"extract-{Guid.NewGuid():N} {chainId}";
        var prepare = new PrepareSnapshotRequest { Snapshotter = snapshotter, Key = key, Parent = parent };
        prepare.Labels.Add(SnapshotRefLabel, chainId);
        var prepared = await clients.Snapshots.PrepareAsync(prepare, headers, cancellationToken: cancellation);
        var committed = false;
        try
        {
            var apply = new ApplyRequest { Diff = layer.ToContainerd() };
            apply.Mounts.AddRange(prepared.Mounts);
            var applied = await clients.Diff.ApplyAsync(apply, headers, cancellationToken: cancellation);
            if (applied.Applied.Digest != diffId)
            {
                throw new InvalidDataException($"layer {layer.Digest} unpacked to {applied.Applied.Digest}, the image's config says {diffId}");
            }

            var commit = new CommitSnapshotRequest { Snapshotter = snapshotter, Name = chainId, Key = key };
            commit.Labels.Add(SnapshotRefLabel, chainId);
            try
            {
                await clients.Snapshots.CommitAsync(commit, headers, cancellationToken: cancellation);
                committed = true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
            {
                // Unpacked meanwhile by another pull of an image sharing the layer: theirs serves.
            }
        }
        finally
        {
            if (!committed)
            {
                await RemoveAsync(key, headers);
            }
        }
    }

    private async Task RemoveAsync(string key, Metadata headers)
    {
        try
        {
            await clients.Snapshots.RemoveAsync(new RemoveSnapshotRequest { Snapshotter = snapshotter, Key = key }, headers);
        }
        catch (RpcException)
        {
            // Left to the garbage collector once the lease ends.
        }
    }
}
