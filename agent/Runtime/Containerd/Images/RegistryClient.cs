using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>Why a pull from a registry failed, in words fit for the task's stopped reason.</summary>
internal sealed class RegistryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The read side of the OCI distribution API (v2): manifests and blobs of one repository, anonymous,
/// with the Bearer token challenge registries such as Docker Hub answer a 401 with. HTTPS, or HTTP for
/// registries the caller calls insecure (localhost, operator's list).
/// </summary>
internal sealed class RegistryClient(HttpClient http, ImageReference image, bool insecure)
{
    private const int MaxManifestBytes = 4 * 1024 * 1024;

    private AuthenticationHeaderValue? _authorization;

    /// <summary>Where the registry's API is: Docker Hub's API has a host of its own.</summary>
    public Uri BaseAddress { get; } = new($"{(insecure ? "http" : "https")}://{(image.Domain == ImageReference.DockerHub ? "registry-1.docker.io" : image.Domain)}/v2/{image.Path}/");

    /// <summary>A manifest or index by tag or digest: its bytes and media type.</summary>
    public async Task<(byte[] Document, string? MediaType)> GetManifestAsync(string reference, CancellationToken cancellation)
    {
        using var response = await SendAsync($"manifests/{reference}", ImageManifests.Accepted, cancellation);
        var document = await ReadLimitedAsync(response, MaxManifestBytes, cancellation);
        if (reference.Contains(':', StringComparison.Ordinal) && reference.StartsWith("sha256:", StringComparison.Ordinal) && OciDigest.Sha256(document) != reference)
        {
            throw new RegistryException($"the manifest served for {reference} does not match its digest");
        }

        return (document, response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>A small blob (config) whole, checked against its digest.</summary>
    public async Task<byte[]> GetBlobAsync(BlobDescriptor blob, CancellationToken cancellation)
    {
        using var response = await SendAsync($"blobs/{blob.Digest}", [], cancellation);
        var data = await ReadLimitedAsync(response, MaxManifestBytes, cancellation);
        if (OciDigest.Sha256(data) != blob.Digest)
        {
            throw new RegistryException($"blob {blob.Digest} does not match its digest");
        }

        return data;
    }

    /// <summary>A blob as a stream (layers); the caller disposes the response. Its digest is checked by the content store's commit.</summary>
    public Task<HttpResponseMessage> OpenBlobAsync(BlobDescriptor blob, CancellationToken cancellation) => SendAsync($"blobs/{blob.Digest}", [], cancellation);

    private async Task<HttpResponseMessage> SendAsync(string path, IReadOnlyList<string> accept, CancellationToken cancellation)
    {
        var uri = new Uri(BaseAddress, path);
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            foreach (var type in accept)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            request.Headers.Authorization = _authorization;
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
            }
            catch (HttpRequestException e)
            {
                throw new RegistryException($"cannot reach the registry {image.Domain}: {e.Message}", e);
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0 && Challenge(response) is { } challenge)
            {
                response.Dispose();
                _authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(challenge, cancellation));
                continue;
            }

            if (!response.IsSuccessStatusCode)
            {
                var status = response.StatusCode;
                var detail = await ErrorDetailAsync(response, cancellation);
                response.Dispose();
                throw new RegistryException(status switch
                {
                    HttpStatusCode.NotFound => $"not found{detail}",
                    HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => $"pull access denied, the repository does not exist or may require authorization{detail}",
                    _ => $"the registry answered {(int)status} {status}{detail}",
                });
            }

            return response;
        }
    }

    private static Dictionary<string, string>? Challenge(HttpResponseMessage response)
    {
        var bearer = response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase));
        return bearer?.Parameter is { } parameter ? ParseChallenge(parameter) : null;
    }

    /// <summary>The parameters of a challenge: realm="...",service="...",scope="..." (quoted strings may hold commas).</summary>
    public static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            var equals = parameter.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var name = parameter[i..equals].Trim();
            i = equals + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var builder = new System.Text.StringBuilder();
                for (i++; i < parameter.Length && parameter[i] != '"'; i++)
                {
                    if (parameter[i] == '\\' && i + 1 < parameter.Length)
                    {
                        i++;
                    }

                    builder.Append(parameter[i]);
                }

                i++;
                value = builder.ToString();
            }
            else
            {
                var end = parameter.IndexOf(',', i);
                end = end < 0 ? parameter.Length : end;
                value = parameter[i..end].Trim();
                i = end;
            }

            result[name] = value;
        }

        return result;
    }

    private async Task<string> TokenAsync(Dictionary<string, string> challenge, CancellationToken cancellation)
    {
        if (!challenge.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("https" or "http"))
        {
            throw new RegistryException("the registry asked for a token without a usable realm");
        }

        var query = new List<string>();
        if (challenge.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.Add("scope=" + Uri.EscapeDataString(challenge.TryGetValue("scope", out var scope) ? scope : $"repository:{image.Path}:pull"));
        var uri = new UriBuilder(realmUri) { Query = string.Join('&', query) }.Uri;
        try
        {
            using var response = await http.GetAsync(uri, cancellation);
            if (!response.IsSuccessStatusCode)
            {
                throw new RegistryException($"the registry's token service answered {(int)response.StatusCode} {response.StatusCode}");
            }

            using var json = JsonDocument.Parse(await ReadLimitedAsync(response, 1024 * 1024, cancellation));
            foreach (var name in (string[])["token", "access_token"])
            {
                if (json.RootElement.TryGetProperty(name, out var token) && token.ValueKind == JsonValueKind.String && token.GetString() is { Length: > 0 } value)
                {
                    return value;
                }
            }

            throw new RegistryException("the registry's token service gave no token");
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException($"cannot reach the registry's token service: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new RegistryException($"the registry's token service answered no JSON: {e.Message}", e);
        }
    }

    /// <summary>The first error message of the registry's error body (OCI distribution's {"errors":[{"message":...}]}).</summary>
    private static async Task<string> ErrorDetailAsync(HttpResponseMessage response, CancellationToken cancellation)
    {
        try
        {
            using var json = JsonDocument.Parse(await ReadLimitedAsync(response, 64 * 1024, cancellation));
            return json.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0
                && errors[0].TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? ": " + message.GetString()
                : "";
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or InvalidDataException or IOException)
        {
            return "";
        }
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken cancellation)
    {
        if (response.Content.Headers.ContentLength > limit)
        {
            throw new InvalidDataException($"a document of {response.Content.Headers.ContentLength} bytes, more than {limit}");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellation);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new InvalidDataException($"a document of more than {limit} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
