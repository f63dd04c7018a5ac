using System.Runtime.InteropServices;
using System.Text.Json;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>A content descriptor of the OCI image spec: what a blob is, its digest and size.</summary>
internal sealed record BlobDescriptor(string MediaType, string Digest, long Size)
{
    public global::Containerd.Types.Descriptor ToContainerd() => new() { MediaType = MediaType, Digest = Digest, Size = Size };

    public static BlobDescriptor From(global::Containerd.Types.Descriptor descriptor) => new(descriptor.MediaType, descriptor.Digest, descriptor.Size);
}

/// <summary>An entry of an image index (manifest list): a manifest and the platform it is for.</summary>
internal sealed record PlatformManifest(BlobDescriptor Manifest, string Os, string Architecture, string Variant);

/// <summary>The host's platform as the OCI image spec names platforms.</summary>
internal sealed record Platform(string Os, string Architecture, string Variant)
{
    public static Platform Host { get; } = new("linux", RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        var other => other.ToString().ToLowerInvariant(),
    }, RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "v8" : "");

    public override string ToString() => $"{Os}/{Architecture}{(Variant.Length == 0 ? "" : "/" + Variant)}";
}

/// <summary>What an image's config gives a container, and the diff ids of its layers.</summary>
internal sealed record ImageConfigBlob(
    IReadOnlyList<string> Environment,
    IReadOnlyList<string> EntryPoint,
    IReadOnlyList<string> Command,
    string User,
    string WorkingDirectory,
    string StopSignal,
    IReadOnlyList<string> DiffIds);

/// <summary>An image manifest: the config blob and the layers, base first.</summary>
internal sealed record ImageManifest(BlobDescriptor Config, IReadOnlyList<BlobDescriptor> Layers);

/// <summary>
/// The JSON documents of an image (OCI and Docker schema 2 alike): index / manifest list, manifest,
/// config. Pure: bytes in, records out.
/// </summary>
internal static class ImageManifests
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>What a registry is told we accept for a manifest: the four kinds, no schema 1.</summary>
    public static IReadOnlyList<string> Accepted { get; } = [OciIndex, DockerManifestList, OciManifest, DockerManifest];

    /// <summary>The media type of a manifest document: the given one where it is one we know, else from its JSON.</summary>
    public static string MediaTypeOf(ReadOnlySpan<byte> document, string? given)
    {
        if (given is not null && Accepted.Contains(given))
        {
            return given;
        }

        using var json = Parse(document, "manifest");
        var root = json.RootElement;
        if (root.TryGetProperty("mediaType", out var mediaType) && mediaType.ValueKind == JsonValueKind.String && Accepted.Contains(mediaType.GetString()!))
        {
            return mediaType.GetString()!;
        }

        // OCI documents may leave mediaType out: their shape tells.
        return root.TryGetProperty("manifests", out _) ? OciIndex
            : root.TryGetProperty("layers", out _) ? OciManifest
            : throw new InvalidDataException($"unsupported manifest media type {given ?? "(none)"}");
    }

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    public static IReadOnlyList<PlatformManifest> ParseIndex(ReadOnlySpan<byte> document)
    {
        using var json = Parse(document, "index");
        var result = new List<PlatformManifest>();
        foreach (var entry in Array(json.RootElement, "manifests"))
        {
            var platform = entry.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
            result.Add(new PlatformManifest(
                Descriptor(entry),
                String(platform, "os"),
                String(platform, "architecture"),
                String(platform, "variant")));
        }

        return result;
    }

    /// <summary>
    /// The index's manifest for the platform: os and architecture equal, the variant equal where both
    /// name one (arm64's "v8" is its default); a manifest naming no variant before one naming another.
    /// </summary>
    public static PlatformManifest? Choose(IReadOnlyList<PlatformManifest> manifests, Platform platform)
    {
        static string Variant(string architecture, string variant) => architecture == "arm64" && variant.Length == 0 ? "v8" : variant;

        var candidates = manifests
            .Where(m => m.Os == platform.Os && m.Architecture == platform.Architecture && IsManifest(m.Manifest.MediaType))
            .ToList();
        return candidates.FirstOrDefault(m => Variant(m.Architecture, m.Variant) == Variant(platform.Architecture, platform.Variant))
            ?? candidates.FirstOrDefault(m => m.Variant.Length == 0 || platform.Variant.Length == 0);
    }

    public static ImageManifest ParseManifest(ReadOnlySpan<byte> document)
    {
        using var json = Parse(document, "manifest");
        var root = json.RootElement;
        if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("the manifest has no config");
        }

        return new ImageManifest(Descriptor(config), [.. Array(root, "layers").Select(Descriptor)]);
    }

    public static ImageConfigBlob ParseConfig(ReadOnlySpan<byte> document)
    {
        using var json = Parse(document, "image config");
        var root = json.RootElement;
        var config = root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var rootfs = root.TryGetProperty("rootfs", out var r) && r.ValueKind == JsonValueKind.Object ? r : default;
        return new ImageConfigBlob(
            Strings(config, "Env"),
            Strings(config, "Entrypoint"),
            Strings(config, "Cmd"),
            String(config, "User"),
            String(config, "WorkingDir"),
            String(config, "StopSignal"),
            Strings(rootfs, "diff_ids"));
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> document, string what)
    {
        try
        {
            var json = JsonDocument.Parse(document.ToArray());
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                json.Dispose();
                throw new InvalidDataException($"the {what} is not a JSON object");
            }

            return json;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the {what} is not valid JSON: {e.Message}", e);
        }
    }

    private static BlobDescriptor Descriptor(JsonElement element)
    {
        var digest = String(element, "digest");
        if (digest.Length == 0 || !element.TryGetProperty("size", out var size) || !size.TryGetInt64(out var bytes))
        {
            throw new InvalidDataException("a descriptor without digest or size");
        }

        return new BlobDescriptor(String(element, "mediaType"), digest, bytes);
    }

    private static IEnumerable<JsonElement> Array(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().ToList()
            : [];

    private static string String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : "";

    private static List<string> Strings(JsonElement element, string name) =>
        [.. Array(element, name).Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)];
}
