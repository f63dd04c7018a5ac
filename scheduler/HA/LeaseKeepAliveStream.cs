using Etcdserverpb;
using Grpc.Core;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// One keep-alive at a time over etcd's LeaseKeepAlive stream: sends a request, waits for its answer,
/// returns the TTL etcd gave (0 or less: the lease is gone). The stream is opened on first use and
/// dropped after any failure, so the next renewal starts on a fresh one (etcd restarted, member gone).
/// We drive the stream ourselves rather than through the client's keep-alive helper, because the
/// leader's deadline needs the send time of each request that etcd answered.
/// </summary>
internal sealed class LeaseKeepAliveStream(Lease.LeaseClient client) : IDisposable
{
    private AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>? _call;

    /// <exception cref="RpcException">etcd did not answer (the stream is dropped).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first (the stream is dropped).</exception>
    public async Task<long> RenewAsync(long leaseId, CancellationToken cancellationToken)
    {
        try
        {
            _call ??= client.LeaseKeepAlive();
            await _call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = leaseId }, cancellationToken);
            if (!await _call.ResponseStream.MoveNext(cancellationToken))
            {
                throw new RpcException(new Status(StatusCode.Unavailable, "etcd closed the lease keep-alive stream"));
            }

            return _call.ResponseStream.Current.TTL;
        }
        catch
        {
            Drop();
            throw;
        }
    }

    public void Dispose() => Drop();

    private void Drop()
    {
        _call?.Dispose();
        _call = null;
    }
}
