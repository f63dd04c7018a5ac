using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Containerd.Services.Images.V1;
using Containerd.Services.Leases.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Agent.Runtime.Containerd.Images;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>Images in containerd's store: resolved to their config, unpacked into snapshots, pulled where missing.</summary>
/// <remarks>
/// The hot path (many tasks of one image) is one Images.Get: the config resolved for an image name and
/// target digest is kept in memory, so a re-tagged image is resolved afresh and an unchanged one never
/// re-read from the content store. Pulls and unpacks of one name are serialised.
/// </remarks>
internal sealed partial class ContainerdImages(
    ContainerdClients clients,
    ContainerdOptions options,
    ILogger<ContainerdImages>? logger = null,
    TimeProvider? time = null,
    HttpMessageHandler? registryHandler = null) : IDisposable
{
    /// <summary>A lease outlives an agent that dies mid-pull by this much at most; then the garbage collector takes its leftovers.</summary>
    private static readonly TimeSpan LeaseExpiry = TimeSpan.FromHours(1);

    private readonly ILogger _logger = logger ?? NullLogger<ContainerdImages>.Instance;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ContentStore _content = new(clients.Content);
    private readonly Unpacker _unpacker = new(clients, options.Snapshotter);
    private readonly HttpClient _http = new(registryHandler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        // Headers only (bodies are read with ResponseHeadersRead): a layer may take long, an answer may not.
        Timeout = TimeSpan.FromMinutes(2),
    };

    private readonly ConcurrentDictionary<string, ImageConfig> _resolved = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    /// <summary>The image's config, its layers unpacked into <see cref="ContainerdOptions.Snapshotter"/>; pulled first where it is not in the store.</summary>
    /// <exception cref="ImagePullException">It is missing and cannot be pulled ("CannotPullContainerError: ...").</exception>
    /// <exception cref="RuntimeUnavailableException">containerd cannot be reached.</exception>
    public async Task<ImageConfig> EnsureAsync(string reference, CancellationToken cancellation)
    {
        var image = ParseReference(reference);
        try
        {
            var found = await FindAsync(image.Name, reference, cancellation);
            if (found is not null && _resolved.TryGetValue(CacheKey(found.Value.Name, found.Value.Target), out var cached))
            {
                return cached;
            }

            var gate = _gates.GetOrAdd(image.Name, _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(cancellation);
            try
            {
                return await ResolveAsync(image, reference, cancellation);
            }
            finally
            {
                gate.Release();
            }
        }
        catch (RpcException e) when (ContainerdClients.IsUnreachable(e))
        {
            throw new RuntimeUnavailableException($"containerd at {clients.Socket} cannot be reached: {e.Status.Detail}", e);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Cancelled or StatusCode.DeadlineExceeded && cancellation.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellation);
        }
        catch (RpcException e)
        {
            throw new ImagePullException($"CannotPullContainerError: {reference}: {e.Status.Detail}", e);
        }
        catch (RegistryException e)
        {
            throw new ImagePullException($"CannotPullContainerError: {reference}: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new ImagePullException($"CannotPullContainerError: {reference}: {e.Message}", e);
        }
    }

    /// <summary>A reference as containerd names images: "busybox" is "docker.io/library/busybox:latest".</summary>
    /// <exception cref="ImagePullException">It is not a valid reference.</exception>
    public static string Normalize(string reference) => ParseReference(reference).Name;

    /// <summary>Whether a registry is pulled from over HTTP: loopback ones, and those the operator lists.</summary>
    public static bool IsInsecure(string domain, string insecureRegistries)
    {
        var host = domain.StartsWith('[') ? domain[1..domain.IndexOf(']', StringComparison.Ordinal)] : domain.Split(':')[0];
        if (host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address)))
        {
            return true;
        }

        return insecureRegistries.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(listed => listed.Equals(domain, StringComparison.OrdinalIgnoreCase) || listed.Equals(host, StringComparison.OrdinalIgnoreCase));
    }

    public void Dispose()
    {
        _http.Dispose();
        foreach (var gate in _gates.Values)
        {
            gate.Dispose();
        }
    }

    private static ImageReference ParseReference(string reference)
    {
        try
        {
            return ImageReference.Parse(reference);
        }
        catch (FormatException e)
        {
            throw new ImagePullException($"CannotPullContainerError: invalid reference format: {reference}: {e.Message}", e);
        }
    }

    private static string CacheKey(string name, global::Containerd.Types.Descriptor target) => $"{name}@{target.Digest}";

    /// <summary>The slow path, one per name at a time: pull where missing, resolve from the content store, unpack where needed.</summary>
    private async Task<ImageConfig> ResolveAsync(ImageReference image, string reference, CancellationToken cancellation)
    {
        var found = await FindAsync(image.Name, reference, cancellation);
        if (found is not null && _resolved.TryGetValue(CacheKey(found.Value.Name, found.Value.Target), out var cached))
        {
            return cached;
        }

        var lease = await CreateLeaseAsync(cancellation);
        try
        {
            string name;
            BlobDescriptor target;
            if (found is null)
            {
                LogPulling(_logger, image.Name);
                var puller = new ImagePuller(clients, _content, _http);
                target = await puller.PullAsync(image, IsInsecure(image.Domain, options.InsecureRegistries), lease, cancellation);
                name = image.Name;
                LogPulled(_logger, image.Name, target.Digest);
            }
            else
            {
                (name, target) = (found.Value.Name, BlobDescriptor.From(found.Value.Target));
            }

            var (manifest, config) = await ReadAsync(target, cancellation);
            var chain = OciDigest.ChainIds(config.DiffIds);
            var chainId = chain.Count == 0 ? "" : chain[^1];
            if (chainId.Length > 0 && !await _unpacker.ExistsAsync(chainId, lease, cancellation))
            {
                LogUnpacking(_logger, name, chainId, options.Snapshotter);
                await _unpacker.UnpackAsync(manifest.Layers, config.DiffIds, lease, cancellation);
            }

            if (chainId.Length > 0)
            {
                // What keeps the snapshots once the lease is gone: the image refers to its config, the
                // config (by this label) to the top snapshot, each snapshot to its parent.
                await _content.UpdateLabelsAsync(manifest.Config.Digest, new Dictionary<string, string>
                {
                    [$"containerd.io/gc.ref.snapshot.{options.Snapshotter}"] = chainId,
                }, lease, cancellation);
            }

            var resolved = new ImageConfig(name, chainId, config.Environment, config.EntryPoint, config.Command, config.User, config.WorkingDirectory, config.StopSignal);
            _resolved[CacheKey(name, target.ToContainerd())] = resolved;
            return resolved;
        }
        finally
        {
            await DeleteLeaseAsync(lease);
        }
    }

    /// <summary>The image by its normalised name, else by the reference as given (an image named so by ctr or an operator).</summary>
    private async Task<(string Name, global::Containerd.Types.Descriptor Target)?> FindAsync(string name, string reference, CancellationToken cancellation)
    {
        foreach (var candidate in name == reference ? [name] : (string[])[name, reference])
        {
            try
            {
                var response = await clients.Images.GetAsync(new GetImageRequest { Name = candidate }, cancellationToken: cancellation);
                return (candidate, response.Image.Target);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
            {
            }
        }

        return null;
    }

    /// <summary>The manifest of the host's platform and its config, read from the content store.</summary>
    private async Task<(ImageManifest Manifest, ImageConfigBlob Config)> ReadAsync(BlobDescriptor target, CancellationToken cancellation)
    {
        var document = await _content.ReadAsync(target.Digest, cancellation);
        var mediaType = ImageManifests.MediaTypeOf(document, target.MediaType);
        if (ImageManifests.IsIndex(mediaType))
        {
            var chosen = ImageManifests.Choose(ImageManifests.ParseIndex(document), Platform.Host)
                ?? throw new InvalidDataException($"no manifest for {Platform.Host} in the image's index");
            document = await _content.ReadAsync(chosen.Manifest.Digest, cancellation);
        }

        var manifest = ImageManifests.ParseManifest(document);
        var config = ImageManifests.ParseConfig(await _content.ReadAsync(manifest.Config.Digest, cancellation));
        return (manifest, config);
    }

    private async Task<ContainerdLease> CreateLeaseAsync(CancellationToken cancellation)
    {
        var request = new CreateRequest { Id = $"orchestrator-image-{Guid.NewGuid():N}" };
        request.Labels.Add("containerd.io/gc.expire", _time.GetUtcNow().Add(LeaseExpiry).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        var created = await clients.Leases.CreateAsync(request, cancellationToken: cancellation);
        return new ContainerdLease(created.Lease.Id);
    }

    private async Task DeleteLeaseAsync(ContainerdLease lease)
    {
        try
        {
            await clients.Leases.DeleteAsync(new DeleteRequest { Id = lease.Id });
        }
        catch (RpcException e)
        {
            // It expires by itself (containerd.io/gc.expire).
            LogLeaseNotDeleted(_logger, lease.Id, e.Status.Detail);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulling image {Image}")]
    private static partial void LogPulling(ILogger logger, string image);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled image {Image} ({Digest})")]
    private static partial void LogPulled(ILogger logger, string image, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unpacking image {Image} into snapshot {ChainId} ({Snapshotter})")]
    private static partial void LogUnpacking(ILogger logger, string image, string chainId, string snapshotter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {Lease} could not be deleted, it expires by itself: {Reason}")]
    private static partial void LogLeaseNotDeleted(ILogger logger, string lease, string reason);
}
