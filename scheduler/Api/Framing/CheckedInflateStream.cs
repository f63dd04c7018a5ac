using Grpc.Core;

namespace Orchestrator.Scheduler.Api.Framing;

/// <summary>A decompressing stream whose failures are gRPC statuses: not gzip, or inflating past the limit.</summary>
internal sealed class CheckedInflateStream(Stream inflate, int maxBytes) : Stream
{
    private long _total;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    // grpc-dotnet inflates with a synchronous CopyTo over a buffer it already holds.
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int count;
        try
        {
            count = inflate.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request's message is marked gzip-compressed but is not valid gzip: {e.Message}"));
        }

        _total += count;
        if (_total > maxBytes)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the request message exceeds the maximum size of {maxBytes} bytes once decompressed"));
        }

        return count;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inflate.Dispose();
        }

        base.Dispose(disposing);
    }
}
