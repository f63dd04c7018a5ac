using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime.Containerd.Images;
using Orchestrator.Tests.Shared;

namespace Orchestrator.EndToEnd.Tests.Containerd;

/// <summary>
/// An OCI distribution registry of the test's own on 127.0.0.1 (Kestrel, plain HTTP as a localhost
/// registry is pulled from): one repository whose "latest" is an image index of the test image for
/// the host's platform (its layer taken from `docker save`, gzipped) and a manifest for another
/// platform it does not serve. Anonymous pulls answer 401 with a Bearer challenge, as Docker Hub does.
/// </summary>
internal sealed class ImagesFakeRegistry : IAsyncDisposable
{
    public const string Token = "fake-registry-token";

    private readonly WebApplication _app;
    private readonly Dictionary<string, (string MediaType, byte[] Data)> _manifests;
    private readonly Dictionary<string, byte[]> _blobs;
    private int _requests;

    private ImagesFakeRegistry(WebApplication app, string repository, Dictionary<string, (string, byte[])> manifests, Dictionary<string, byte[]> blobs, string configDigest, IReadOnlyList<string> diffIds)
    {
        _app = app;
        Repository = repository;
        _manifests = manifests;
        _blobs = blobs;
        ConfigDigest = configDigest;
        DiffIds = diffIds;
    }

    public string Repository { get; }

    public string Domain { get; private set; } = "";

    public string ConfigDigest { get; }

    public IReadOnlyList<string> DiffIds { get; }

    /// <summary>Requests for manifests and blobs (tokens not counted).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Serve layers with one byte changed (their digests then do not match).</summary>
    public bool CorruptLayers { get; set; }

    public string Reference => $"{Domain}/{Repository}:latest";

    public static async Task<ImagesFakeRegistry> StartAsync(string workDirectory, string repository = "fake/busybox")
    {
        var (manifests, blobs, configDigest, diffIds) = BuildImage(workDirectory);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var registry = new ImagesFakeRegistry(app, repository, manifests, blobs, configDigest, diffIds);
        app.MapGet("/token", () => Results.Json(new { token = Token }));
        app.MapGet("/v2/{**rest}", (HttpContext context, string rest) => registry.Serve(context, rest));
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        registry.Domain = $"127.0.0.1:{address.Port}";
        return registry;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private IResult Serve(HttpContext context, string rest)
    {
        if (context.Request.Headers.Authorization.ToString() != "Bearer " + Token)
        {
            context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"http://{Domain}/token\",service=\"fake-registry\",scope=\"repository:{Repository}:pull\"";
            return Results.Json(new { errors = new[] { new { code = "UNAUTHORIZED", message = "authentication required" } } }, statusCode: 401);
        }

        Interlocked.Increment(ref _requests);
        var notFound = Results.Json(new { errors = new[] { new { code = "NAME_UNKNOWN", message = "repository name not known to registry" } } }, statusCode: 404);
        foreach (var kind in (string[])["/manifests/", "/blobs/"])
        {
            var at = rest.LastIndexOf(kind, StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            if (rest[..at] != Repository)
            {
                return notFound;
            }

            var reference = rest[(at + kind.Length)..];
            if (kind == "/manifests/")
            {
                return _manifests.TryGetValue(reference, out var manifest) ? Results.Bytes(manifest.Data, manifest.MediaType) : notFound;
            }

            if (!_blobs.TryGetValue(reference, out var blob))
            {
                return notFound;
            }

            if (CorruptLayers && reference != ConfigDigest)
            {
                blob = [.. blob];
                blob[^1] ^= 0xff;
            }

            return Results.Bytes(blob, "application/octet-stream");
        }

        return notFound;
    }

    private static JsonObject HostPlatform()
    {
        var platform = new JsonObject { ["os"] = "linux", ["architecture"] = Platform.Host.Architecture };
        if (Platform.Host.Variant.Length > 0)
        {
            platform["variant"] = Platform.Host.Variant;
        }

        return platform;
    }

    private static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>The test image as an OCI index + manifest + config + gzipped layers, from `docker save`.</summary>
    private static (Dictionary<string, (string, byte[])>, Dictionary<string, byte[]>, string, IReadOnlyList<string>) BuildImage(string workDirectory)
    {
        var archive = Path.Combine(workDirectory, "registry-image.tar");
        var saved = ShellCommand.Run("docker", "save", "-o", archive, ContainerdProcess.TestImage);
        if (saved.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker save failed: {saved.Output}");
        }

        var files = new Dictionary<string, byte[]>();
        using (var reader = new TarReader(File.OpenRead(archive)))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.DataStream is not null)
                {
                    using var data = new MemoryStream();
                    entry.DataStream.CopyTo(data);
                    files[entry.Name] = data.ToArray();
                }
            }
        }

        File.Delete(archive);
        var saveManifest = JsonNode.Parse(files["manifest.json"])![0]!;
        var config = files[saveManifest["Config"]!.GetValue<string>()];
        var blobs = new Dictionary<string, byte[]> { [Digest(config)] = config };
        var layers = new JsonArray();
        var diffIds = new List<string>();
        foreach (var path in saveManifest["Layers"]!.AsArray().Select(l => l!.GetValue<string>()))
        {
            var tar = files[path];
            diffIds.Add(Digest(tar));
            using var gzipped = new MemoryStream();
            using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(tar);
            }

            var layer = gzipped.ToArray();
            blobs[Digest(layer)] = layer;
            layers.Add(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip", ["digest"] = Digest(layer), ["size"] = layer.Length });
        }

        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ImageManifests.OciManifest,
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Digest(config), ["size"] = config.Length },
            ["layers"] = layers,
        }.ToJsonString());
        var other = Platform.Host.Architecture == "s390x" ? "ppc64le" : "s390x";
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ImageManifests.OciIndex,
            ["manifests"] = new JsonArray(
                new JsonObject
                {
                    ["mediaType"] = ImageManifests.OciManifest,
                    ["digest"] = "sha256:" + new string('0', 64),
                    ["size"] = 100,
                    ["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = other },
                },
                new JsonObject
                {
                    ["mediaType"] = ImageManifests.OciManifest,
                    ["digest"] = Digest(manifest),
                    ["size"] = manifest.Length,
                    ["platform"] = HostPlatform(),
                }),
        }.ToJsonString());
        var manifests = new Dictionary<string, (string, byte[])>
        {
            ["latest"] = (ImageManifests.OciIndex, index),
            [Digest(index)] = (ImageManifests.OciIndex, index),
            [Digest(manifest)] = (ImageManifests.OciManifest, manifest),
        };
        return (manifests, blobs, Digest(config), diffIds);
    }
}
