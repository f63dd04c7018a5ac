using Containerd.Services.Content.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>containerd's content store over its gRPC API: blobs read, written and labelled by digest.</summary>
internal sealed class ContentStore(Content.ContentClient content)
{
    private const int ChunkSize = 1024 * 1024;

    /// <summary>A whole (small: manifest, index, config) blob.</summary>
    /// <exception cref="RpcException">NotFound where the store does not have it.</exception>
    public async Task<byte[]> ReadAsync(string digest, CancellationToken cancellation)
    {
        using var call = content.Read(new ReadContentRequest { Digest = digest }, cancellationToken: cancellation);
        using var buffer = new MemoryStream();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellation))
        {
            buffer.Position = chunk.Offset;
            chunk.Data.WriteTo(buffer);
        }

        var data = buffer.ToArray();
        if (OciDigest.Sha256(data) != digest && digest.StartsWith("sha256:", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"the content store's {digest} does not match its digest");
        }

        return data;
    }

    public async Task<bool> ExistsAsync(string digest, Metadata headers, CancellationToken cancellation)
    {
        try
        {
            await content.InfoAsync(new InfoRequest { Digest = digest }, headers, cancellationToken: cancellation);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Writes a blob (stat, write, commit, as containerd's remote writer does), checked by containerd
    /// against the expected digest and size. A blob the store has already is left as it is.
    /// </summary>
    public async Task WriteAsync(BlobDescriptor blob, Stream data, IReadOnlyDictionary<string, string> labels, Metadata headers, CancellationToken cancellation)
    {
        // Unique per write: two pulls of images sharing a layer must not lock each other's ref; the
        // second commit finds the blob there and is told AlreadyExists.
        var reference = $"orchestrator-{blob.Digest}-{Guid.NewGuid():N}";
        var committed = false;
        try
        {
            using var call = content.Write(headers, cancellationToken: cancellation);
            await call.RequestStream.WriteAsync(new WriteContentRequest { Action = WriteAction.Stat, Ref = reference, Total = blob.Size, Expected = blob.Digest }, cancellation);
            if (!await call.ResponseStream.MoveNext(cancellation))
            {
                throw new IOException("containerd closed the content write");
            }

            var offset = 0L;
            var buffer = new byte[ChunkSize];
            int read;
            while ((read = await data.ReadAsync(buffer, cancellation)) > 0)
            {
                await call.RequestStream.WriteAsync(new WriteContentRequest
                {
                    Action = WriteAction.Write,
                    Ref = reference,
                    Total = blob.Size,
                    Expected = blob.Digest,
                    Offset = offset,
                    Data = ByteString.CopyFrom(buffer, 0, read),
                }, cancellation);
                if (!await call.ResponseStream.MoveNext(cancellation))
                {
                    throw new IOException("containerd closed the content write");
                }

                offset += read;
            }

            if (offset != blob.Size)
            {
                throw new InvalidDataException($"{blob.Digest} is {offset} bytes, its descriptor says {blob.Size}");
            }

            var commit = new WriteContentRequest { Action = WriteAction.Commit, Ref = reference, Total = blob.Size, Expected = blob.Digest, Offset = offset };
            foreach (var (key, value) in labels)
            {
                commit.Labels[key] = value;
            }
            await call.RequestStream.WriteAsync(commit, cancellation);
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(cancellation))
            {
            }

            committed = true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            committed = true;
            if (labels.Count > 0)
            {
                await UpdateLabelsAsync(blob.Digest, labels, headers, cancellation);
            }
        }
        finally
        {
            if (!committed)
            {
                await AbortAsync(reference, headers);
            }
        }
    }

    /// <summary>Sets labels on a blob, leaving its others as they are.</summary>
    public async Task UpdateLabelsAsync(string digest, IReadOnlyDictionary<string, string> labels, Metadata headers, CancellationToken cancellation)
    {
        var info = new Info { Digest = digest };
        foreach (var (key, value) in labels)
        {
            info.Labels[key] = value;
        }
        var request = new UpdateRequest { Info = info, UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask() };
        request.UpdateMask.Paths.AddRange(labels.Keys.Select(key => "labels." + key));
        await content.UpdateAsync(request, headers, cancellationToken: cancellation);
    }

    private async Task AbortAsync(string reference, Metadata headers)
    {
        try
        {
            await content.AbortAsync(new AbortRequest { Ref = reference }, headers);
        }
        catch (RpcException)
        {
            // Nothing was written under it, or containerd is gone: its ingest expires either way.
        }
    }
}
