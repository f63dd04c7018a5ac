using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>
/// Compacts etcd's history, which otherwise grows with every commit until etcd's space quota stops all
/// writes. The leader calls <see cref="CompactAsync"/> periodically (every minute or so). It keeps the
/// last <c>keepRevisions</c> revisions and everything younger than <c>keepFor</c>, whichever is more,
/// so a standby's watch that is briefly behind can still resume; older revisions go. Logical
/// compaction only (physical=false): etcd frees the space in the background.
/// </summary>
internal sealed class EtcdCompactor
{
    private readonly EtcdClient _client;
    private readonly EtcdKeys _keys;
    private readonly TimeProvider _time;
    private readonly long _keepRevisions;
    private readonly TimeSpan _keepFor;

    // The revisions seen at each call, oldest first: what "keepFor ago" was.
    private readonly Queue<(DateTimeOffset At, long Revision)> _seen = new();
    private long _compacted;

    public EtcdCompactor(EtcdClient client, string prefix, TimeProvider time, long keepRevisions = 10_000, TimeSpan? keepFor = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepRevisions);
        _client = client;
        _keys = new EtcdKeys(prefix);
        _time = time;
        _keepRevisions = keepRevisions;
        _keepFor = keepFor ?? TimeSpan.FromMinutes(5);
    }

    /// <summary>Compacts up to what may go; returns the revision compacted to, or null where nothing was due.</summary>
    /// <exception cref="RpcException">etcd did not answer (the next call tries again).</exception>
    public async Task<long?> CompactAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var current = (await _client.GetConnection().KVClient.RangeAsync(new RangeRequest { Key = _keys.Version, CountOnly = true }, deadline: deadline, cancellationToken: cancellationToken)).Header.Revision;
        _seen.Enqueue((now, current));

        // The newest revision that is at least keepFor old; samples older than it are no longer needed.
        long? oldEnough = null;
        while (_seen.TryPeek(out var sample) && now - sample.At >= _keepFor)
        {
            oldEnough = _seen.Dequeue().Revision;
        }

        if (oldEnough is null)
        {
            return null;
        }

        var target = Math.Min(current - _keepRevisions, oldEnough.Value);
        if (target <= _compacted || target <= 1)
        {
            return null;
        }

        try
        {
            await _client.GetConnection().KVClient.CompactAsync(new CompactionRequest { Revision = target, Physical = false }, deadline: deadline, cancellationToken: cancellationToken);
        }
        catch (RpcException e) when (EtcdRpcFailure.IsCompacted(e))
        {
            // Another leader (or an operator) compacted as far already.
        }

        _compacted = target;
        return target;
    }
}
