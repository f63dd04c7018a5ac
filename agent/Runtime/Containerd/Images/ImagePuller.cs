using Containerd.Services.Images.V1;
using Grpc.Core;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>
/// Pulls an image of the host's platform from its registry into containerd's content store and names
/// it in the image store, as containerd's client Pull does: blobs first (under the caller's lease,
/// with the gc.ref labels that keep a manifest's config and layers and an index's manifest alive),
/// the image record last, so a pull that fails part way leaves nothing an image refers to.
/// </summary>
internal sealed class ImagePuller(ContainerdClients clients, ContentStore content, HttpClient http)
{
    /// <summary>Pulls and creates (or repoints) the image; returns its target.</summary>
    /// <exception cref="RegistryException">The registry cannot be reached, or refuses, or serves nothing usable.</exception>
    public async Task<BlobDescriptor> PullAsync(ImageReference image, bool insecure, Metadata lease, CancellationToken cancellation)
    {
        var registry = new RegistryClient(http, image, insecure);
        var (document, given) = await registry.GetManifestAsync(image.ManifestReference, cancellation);
        var mediaType = MediaType(document, given);
        var root = new BlobDescriptor(mediaType, OciDigest.Sha256(document), document.Length);
        if (image.Digest is not null && root.Digest != image.Digest)
        {
            throw new RegistryException($"the manifest served is {root.Digest}, not the {image.Digest} asked for");
        }

        var manifestDocument = document;
        var manifestDescriptor = root;
        var indexLabels = new Dictionary<string, string>();
        if (ImageManifests.IsIndex(mediaType))
        {
            var entries = ImageManifests.ParseIndex(document);
            var chosen = ImageManifests.Choose(entries, Platform.Host)
                ?? throw new RegistryException($"no manifest for {Platform.Host} in the image's index");
            indexLabels[$"containerd.io/gc.ref.content.m.{entries.ToList().IndexOf(chosen)}"] = chosen.Manifest.Digest;
            (manifestDocument, given) = await registry.GetManifestAsync(chosen.Manifest.Digest, cancellation);
            manifestDescriptor = chosen.Manifest with { MediaType = MediaType(manifestDocument, chosen.Manifest.MediaType) };
            if (!ImageManifests.IsManifest(manifestDescriptor.MediaType))
            {
                throw new RegistryException($"the index's manifest for {Platform.Host} is a {manifestDescriptor.MediaType}, not an image manifest");
            }
        }

        var manifest = Parse(() => ImageManifests.ParseManifest(manifestDocument));
        var configDocument = await registry.GetBlobAsync(manifest.Config, cancellation);
        var config = Parse(() => ImageManifests.ParseConfig(configDocument));
        if (config.DiffIds.Count != manifest.Layers.Count)
        {
            throw new RegistryException($"the manifest has {manifest.Layers.Count} layers, its config {config.DiffIds.Count} diff ids");
        }

        foreach (var layer in manifest.Layers)
        {
            if (await content.ExistsAsync(layer.Digest, lease, cancellation))
            {
                continue;
            }

            using var response = await registry.OpenBlobAsync(layer, cancellation);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellation);
            await WriteAsync(layer, stream, new Dictionary<string, string>(), lease, cancellation);
        }

        await WriteAsync(manifest.Config, configDocument, new Dictionary<string, string>(), lease, cancellation);
        var manifestLabels = new Dictionary<string, string> { ["containerd.io/gc.ref.content.config"] = manifest.Config.Digest };
        for (var i = 0; i < manifest.Layers.Count; i++)
        {
            manifestLabels[$"containerd.io/gc.ref.content.l.{i}"] = manifest.Layers[i].Digest;
        }

        await WriteAsync(manifestDescriptor, manifestDocument, manifestLabels, lease, cancellation);
        if (root != manifestDescriptor)
        {
            await WriteAsync(root, document, indexLabels, lease, cancellation);
        }

        await CreateImageAsync(image.Name, root, lease, cancellation);
        return root;
    }

    private async Task WriteAsync(BlobDescriptor blob, byte[] data, Dictionary<string, string> labels, Metadata lease, CancellationToken cancellation)
    {
        using var stream = new MemoryStream(data, writable: false);
        await WriteAsync(blob, stream, labels, lease, cancellation);
    }

    private async Task WriteAsync(BlobDescriptor blob, Stream data, Dictionary<string, string> labels, Metadata lease, CancellationToken cancellation)
    {
        try
        {
            await content.WriteAsync(blob, data, labels, lease, cancellation);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument)
        {
            // containerd's commit found the bytes are not the blob the descriptor names.
            throw new RegistryException($"blob {blob.Digest}: {e.Status.Detail}", e);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException($"blob {blob.Digest}: the download failed: {e.Message}", e);
        }
        catch (IOException e) when (e is not EndOfStreamException)
        {
            throw new RegistryException($"blob {blob.Digest}: the download failed: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new RegistryException($"blob {blob.Digest}: {e.Message}", e);
        }
    }

    private async Task CreateImageAsync(string name, BlobDescriptor target, Metadata lease, CancellationToken cancellation)
    {
        var record = new Image { Name = name, Target = target.ToContainerd() };
        try
        {
            await clients.Images.CreateAsync(new CreateImageRequest { Image = record }, lease, cancellationToken: cancellation);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            // Created meanwhile (another pull, ctr): it now names what we pulled, as a re-pull would.
            var update = new UpdateImageRequest { Image = record, UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask() };
            update.UpdateMask.Paths.Add("target");
            await clients.Images.UpdateAsync(update, lease, cancellationToken: cancellation);
        }
    }

    private static string MediaType(byte[] document, string? given)
    {
        try
        {
            return ImageManifests.MediaTypeOf(document, given);
        }
        catch (InvalidDataException e)
        {
            throw new RegistryException(e.Message, e);
        }
    }

    private static T Parse<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (InvalidDataException e)
        {
            throw new RegistryException(e.Message, e);
        }
    }
}
