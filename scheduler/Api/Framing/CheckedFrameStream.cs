using Grpc.Core;

namespace Orchestrator.Scheduler.Api.Framing;

/// <summary>
/// The request body of a gRPC call, passed through unchanged while its length-prefixed frames (a
/// compressed flag byte, a 4-byte big-endian length, the message) are checked on the way. grpc-dotnet
/// answers a frame it cannot read with UNKNOWN (a length over 2 GiB, a flag other than 0 or 1) or
/// INTERNAL (a body that ends inside a frame or has no message, a second message on a one-message
/// call, a compressed flag without grpc-encoding); here each is an RpcException with a status that says what is wrong,
/// thrown from the read grpc-dotnet is waiting on, so it answers with that status.
/// </summary>
internal sealed class CheckedFrameStream(Stream inner, FrameRules rules) : Stream
{
    private const int HeaderSize = 5;

    private readonly byte[] _header = new byte[HeaderSize];
    private int _headerRead;
    private long _bodyLeft;
    private long _bodyLength;
    private int _frames;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var count = await inner.ReadAsync(buffer, cancellationToken);
        // A zero-byte read (Kestrel's pipe reader waits for data with one) answers 0 without meaning the end.
        if (!buffer.IsEmpty)
        {
            Inspect(buffer.Span[..count]);
        }

        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var count = inner.Read(buffer);
        if (!buffer.IsEmpty)
        {
            Inspect(buffer[..count]);
        }

        return count;
    }

    /// <summary>Follows the frames through one chunk of the body; an empty chunk is the body's end.</summary>
    private void Inspect(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty)
        {
            if (_headerRead > 0)
            {
                throw Invalid($"the request ends inside a message frame's 5-byte header, after {_headerRead} bytes");
            }

            if (_bodyLeft > 0)
            {
                throw Invalid($"the request ends inside a message: {_bodyLength - _bodyLeft} of the {_bodyLength} bytes its frame announces arrived");
            }

            if (_frames == 0 && rules.OneMessage)
            {
                throw Invalid($"the request has no message; {rules.Method} takes exactly one");
            }

            return;
        }

        while (!chunk.IsEmpty)
        {
            if (_bodyLeft > 0)
            {
                var taken = (int)Math.Min(_bodyLeft, chunk.Length);
                _bodyLeft -= taken;
                chunk = chunk[taken..];
                continue;
            }

            var header = Math.Min(HeaderSize - _headerRead, chunk.Length);
            chunk[..header].CopyTo(_header.AsSpan(_headerRead));
            _headerRead += header;
            chunk = chunk[header..];
            if (_headerRead == HeaderSize)
            {
                _headerRead = 0;
                StartFrame();
            }
        }
    }

    private void StartFrame()
    {
        _frames++;
        if (_frames > 1 && rules.OneMessage)
        {
            throw Invalid($"the request has more than one message; {rules.Method} takes exactly one");
        }

        var flag = _header[0];
        if (flag > 1)
        {
            throw Invalid($"the request is not a gRPC message frame: its compressed flag is {flag}, not 0 or 1");
        }

        if (flag == 1 && !rules.Compressed)
        {
            throw Invalid("the request's message is marked compressed, but the call names no grpc-encoding to decompress it with");
        }

        var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(1));
        if (length > rules.MaxMessageBytes)
        {
            // A size problem, said as gRPC says sizes over the limit, whether or not the length would fit an int.
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"the request message exceeds the maximum size of {rules.MaxMessageBytes} bytes: its frame announces {length}"));
        }

        _bodyLength = _bodyLeft = length;
    }

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
