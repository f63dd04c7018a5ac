using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.BadInput;

/// <summary>
/// gRPC request bodies broken at the frame level (the 5-byte header of compressed flag and length, or
/// the body around it), sent as raw HTTP/2 requests: each gets the status the README lists.
/// </summary>
internal sealed class BadFrameTests : SchedulerTest
{
    private const string ListClusters = "orchestrator.v1.ClusterService/ListClusters";
    private const int Limit = 4 * 1024 * 1024;

    private static byte[] Frame(byte flag, uint length, params byte[] body) =>
        [flag, (byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length, .. body];

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Method, body bytes, grpc-encoding, status and message (a message ending in ": " is a prefix).</summary>
    public static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case(string name, byte[] body, string? encoding, StatusCode code, string? detail, string method = ListClusters) =>
            new TestCaseData(method, body, encoding, code, detail).SetName(name);

        var validGzip = Gzip([0x18, 0x05]); // max_results: 5
        var bomb = Gzip(new byte[Limit + 1]);
        yield return Case("A valid frame is served", Frame(0, 0), null, StatusCode.OK, null);
        yield return Case("A valid gzip frame is served", Frame(1, (uint)validGzip.Length, validGzip), "gzip", StatusCode.OK, null);
        yield return Case("A length of 0xFFFFFFFF is too large", Frame(0, 0xFFFFFFFF, 1, 2, 3), null, StatusCode.ResourceExhausted,
            $"the request message exceeds the maximum size of {Limit} bytes: its frame announces 4294967295");
        yield return Case("A length one over the limit is too large", Frame(0, Limit + 1), null, StatusCode.ResourceExhausted,
            $"the request message exceeds the maximum size of {Limit} bytes: its frame announces {Limit + 1}");
        yield return Case("A gzip flag on a body that is not gzip", Frame(1, 4, 0x0a, 0x02, 0x61, 0x62), "gzip", StatusCode.InvalidArgument,
            "the request's message is marked gzip-compressed but is not valid gzip: ");
        yield return Case("gzip that inflates past the limit", Frame(1, (uint)bomb.Length, bomb), "gzip", StatusCode.ResourceExhausted,
            $"the request message exceeds the maximum size of {Limit} bytes once decompressed");
        yield return Case("A gzip flag with no grpc-encoding", Frame(1, 0), null, StatusCode.InvalidArgument,
            "the request's message is marked compressed, but the call names no grpc-encoding to decompress it with");
        yield return Case("A compressed flag of 2", Frame(2, 0), null, StatusCode.InvalidArgument,
            "the request is not a gRPC message frame: its compressed flag is 2, not 0 or 1");
        yield return Case("A body that ends inside the header", [0, 0, 0], null, StatusCode.InvalidArgument,
            "the request ends inside a message frame's 5-byte header, after 3 bytes");
        yield return Case("A body that ends inside the message", Frame(0, 10, 0x18, 0x05), null, StatusCode.InvalidArgument,
            "the request ends inside a message: 2 of the 10 bytes its frame announces arrived");
        yield return Case("An empty body", [], null, StatusCode.InvalidArgument, $"the request has no message; {ListClusters} takes exactly one");
        yield return Case("Two messages on a unary call", [.. Frame(0, 0), .. Frame(0, 0)], null, StatusCode.InvalidArgument,
            $"the request has more than one message; {ListClusters} takes exactly one");
        yield return Case("An encoding the scheduler does not have", Frame(1, 0), "br", StatusCode.Unimplemented,
            "Unsupported grpc-encoding value 'br'. Supported encodings: identity, gzip");
    }

    [TestCaseSource(nameof(Cases))]
    public async Task A_bad_frame_gets_a_clear_status_and_the_scheduler_stays_healthy(string method, byte[] body, string? encoding, StatusCode code, string? detail)
    {
        using var client = new HttpClient(Host.Server.CreateHandler()) { BaseAddress = Host.Server.BaseAddress };
        var (status, message) = await SendAsync(client, Host.AdminToken, method, body, encoding);
        var clusters = await Host.Clusters.ListClustersAsync(new ListClustersRequest());
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(code), message);
            if (detail is not null)
            {
                Assert.That(message, Matches(detail));
            }

            Assert.That(clusters.Names, Is.EqualTo(new[] { "default" }), "the scheduler still answers, unchanged");
        });
    }

    public static NUnit.Framework.Constraints.IResolveConstraint Matches(string detail) =>
        detail.EndsWith(": ", StringComparison.Ordinal) ? Does.StartWith(detail) : Is.EqualTo(detail);

    /// <summary>One HTTP/2 gRPC request with exactly these body bytes; the status from the trailers (or the headers of a trailers-only answer).</summary>
    public static async Task<(StatusCode Status, string Message)> SendAsync(HttpClient client, string token, string method, byte[] body, string? encoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, method)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (encoding is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
        }

        using var response = await client.SendAsync(request);
        _ = await response.Content.ReadAsByteArrayAsync();
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First() : null;
        var status = Header("grpc-status") ?? throw new InvalidOperationException($"no grpc-status in the answer (HTTP {(int)response.StatusCode})");
        return ((StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(Header("grpc-message") ?? ""));
    }
}
