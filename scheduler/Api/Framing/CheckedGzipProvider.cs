using System.IO.Compression;
using Grpc.Net.Compression;

namespace Orchestrator.Scheduler.Api.Framing;

/// <summary>
/// gzip for request messages, in place of grpc-dotnet's own provider: a body that is not gzip is
/// INVALID_ARGUMENT (grpc-dotnet's answers UNKNOWN), and a message that inflates past the request
/// limit is RESOURCE_EXHAUSTED as soon as it does (grpc-dotnet's inflates it whole into memory first,
/// so 4 MiB of gzip could become gigabytes).
/// </summary>
internal sealed class CheckedGzipProvider(int maxMessageBytes) : ICompressionProvider
{
    public string EncodingName => "gzip";

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
        new GZipStream(stream, compressionLevel ?? CompressionLevel.Fastest, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream stream) =>
        new CheckedInflateStream(new GZipStream(stream, CompressionMode.Decompress), maxMessageBytes);
}
