using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>
/// The state in etcd, under one key prefix (<see cref="EtcdKeys"/>): every record a key, the version a
/// key, and each commit ONE etcd Txn that compares the version (and, for a leader, its election key:
/// <see cref="EtcdFence"/>) and then writes the change set and the next version. etcd answers a Txn
/// only once a quorum has it on disk, so a commit is durable when it is written.
/// </summary>
/// <remarks>
/// Commits run one at a time, in the order begun, on a dedicated <see cref="WriterThread"/> that sends
/// each Txn with the blocking gRPC call. ClusterState waits for Written synchronously under its lock:
/// the dedicated thread means the commit never waits for a thread-pool thread to start, and the call's
/// socket completions, which do run on the pool, are what the pool's starvation handling always
/// serves (a thread blocked in Task.Wait is counted as blocked and replaced), so the wait cannot
/// deadlock. A Txn that was sent and got no answer may still be applied: the store is then
/// <see cref="Lost"/> (nothing can be known until it loads again), and refuses every later commit.
/// </remarks>
internal sealed class EtcdStateStore : IStateStore
{
    /// <summary>Keys read per range request while loading: pages keep each answer far below the message limits.</summary>
    internal const int LoadPageSize = 500;

    /// <summary>The Txn's fixed overhead beside its ops in etcd's raft entry (its header): kept out of MaxRequestBytes.</summary>
    private const int RequestOverheadBytes = 256;

    /// <summary>About the Txn's compares, failure reads, version and meta, beside its changes: kept out of <see cref="Limits"/>.</summary>
    private const int FixedTxnBytes = 1024;

    private const int SendAttempts = 3;

    private readonly KV.KVClient _kv;
    private readonly EtcdOptions _options;
    private readonly EtcdKeys _keys;
    private readonly Func<EtcdFence?> _fence;
    private readonly bool _fenced;
    private readonly Action<string> _fenceLost;
    private readonly TimeSpan _requestTimeout;
    private readonly WriterThread _writer;
    private readonly TaskCompletionSource<StorageException> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _closed;

    /// <param name="client">The etcd client (<see cref="EtcdClientFactory"/>); the caller owns and disposes it.</param>
    /// <param name="options">The prefix and the request limits (Scheduler:Etcd).</param>
    /// <param name="fence">The leader's fence for each commit. Given (several schedulers), a commit with no fence
    /// (this scheduler is not the leader) is refused unsent, a failed fence is told to <paramref name="fenceLost"/>,
    /// and a conflict makes the store lost: only a leader whose memory diverged from etcd can meet one, and
    /// a restart (exit 4) loads what etcd holds. Not given (one writer, tests): commits carry no fence.</param>
    /// <param name="fenceLost">Told why, when etcd refused a commit because the fence failed.</param>
    /// <param name="requestTimeout">How long one etcd request may take before its outcome counts as unknown (5 s by default).</param>
    /// <exception cref="ArgumentException">A setting is invalid, naming it.</exception>
    public EtcdStateStore(EtcdClient client, EtcdOptions options, Func<EtcdFence?>? fence = null, TimeSpan? requestTimeout = null, Action<string>? fenceLost = null)
    {
        if (options.MaxTxnOps < 2)
        {
            throw new ArgumentException($"Scheduler:Etcd:MaxTxnOps must be at least 2 (a change and the version), not {options.MaxTxnOps}", nameof(options));
        }

        if (options.MaxRequestBytes < 4096)
        {
            throw new ArgumentException($"Scheduler:Etcd:MaxRequestBytes must be at least 4096, not {options.MaxRequestBytes}", nameof(options));
        }

        _kv = client.GetConnection().KVClient;
        _options = options;
        _keys = new EtcdKeys(options.Prefix);
        var changes = options.MaxTxnOps - 2;
        Limits = new StoreLimits(changes, options.MaxRequestBytes - FixedTxnBytes - changes * (_keys.Prefix.Length + 8));
        _fence = fence ?? (() => null);
        _fenced = fence is not null;
        _fenceLost = fenceLost ?? (_ => { });
        _requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(5);
        _writer = new WriterThread($"etcd writer {options.Prefix}");
    }

    public EtcdKeys Keys => _keys;

    /// <summary>
    /// The etcd revision the last <see cref="LoadAsync"/> read at: a standby watches from the next one
    /// (<see cref="EtcdCommitWatch"/>) to see every commit after its load, and none twice.
    /// </summary>
    public long LoadedRevision { get; private set; }

    public Task<StorageException> Lost => _lost.Task;

    /// <summary>
    /// What a change set may hold to fit one Txn: MaxTxnOps less the version and the meta (the first
    /// commit writes it), and MaxRequestBytes less the Txn's fixed part and, for each change, the key
    /// prefix that the writers' estimate (CommitChunks.BytesOfPut) does not count.
    /// </summary>
    public StoreLimits Limits { get; }

    /// <summary>
    /// The store's version now, read with a linearizable read (through etcd's leader, after every commit
    /// it has answered): what a new leader must have applied before it writes.
    /// </summary>
    /// <exception cref="StorageException">etcd did not answer.</exception>
    public async Task<long> ReadVersionAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var answer = await _kv.RangeAsync(new RangeRequest { Key = _keys.Version }, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            return answer.Kvs.Count == 0 ? 0 : _keys.ParseVersion(answer.Kvs[0].Value);
        }
        catch (RpcException e)
        {
            throw new StorageException($"cannot read the state's version under {_keys.Prefix} from etcd ({_options.Endpoints}): {e.Status.StatusCode}: {e.Status.Detail}", e);
        }
    }

    /// <summary>
    /// Reads every key under the prefix at one revision (page by page, each page at the revision of the
    /// first), so the state is one consistent snapshot. A prefix that holds keys of something else is
    /// refused, untouched.
    /// </summary>
    public async Task<StoredState> LoadAsync(CancellationToken cancellationToken = default)
    {
        // The revision read at can be compacted between pages: the load then starts again at a newer one.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await LoadOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (EtcdRpcFailure.IsCompacted(e) && attempt < 3)
            {
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("the load was cancelled", e, cancellationToken);
            }
            catch (RpcException e)
            {
                throw new StorageException($"cannot read the state under {_keys.Prefix} from etcd ({_options.Endpoints}): {e.Status.StatusCode}: {e.Status.Detail}", e);
            }
        }
    }

    private async Task<StoredState> LoadOnceAsync(CancellationToken cancellationToken)
    {
        var records = new List<Mvccpb.KeyValue>();
        ByteString? meta = null;
        ByteString? version = null;
        var others = new List<string>();
        var revision = 0L;
        var from = _keys.RangeStart;
        while (true)
        {
            var request = new RangeRequest { Key = from, RangeEnd = _keys.RangeEnd, Limit = LoadPageSize, Revision = revision };
            var page = await _kv.RangeAsync(request, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (revision == 0)
            {
                revision = page.Header.Revision;
            }

            foreach (var kv in page.Kvs)
            {
                switch (_keys.Classify(kv.Key))
                {
                    case EtcdKeyKind.Meta:
                        meta = kv.Value;
                        break;
                    case EtcdKeyKind.Version:
                        version = kv.Value;
                        break;
                    case EtcdKeyKind.Table:
                        records.Add(kv);
                        break;
                    case EtcdKeyKind.Leader or EtcdKeyKind.Security:
                        // Ours, but not state: the election and the security material are read by their owners.
                        break;
                    default:
                        if (others.Count < 3)
                        {
                            others.Add(kv.Key.ToStringUtf8());
                        }

                        break;
                }
            }

            if (!page.More || page.Kvs.Count == 0)
            {
                break;
            }

            // The next page starts just after the last key of this one.
            from = ByteString.CopyFrom([.. page.Kvs[^1].Key.Span, 0]);
        }

        // Whose the prefix is comes first: the records of something else are not ours to judge.
        CheckOurs(meta, version is not null, records.Count > 0, others);
        var at = version is null ? (long?)null : _keys.ParseVersion(version);
        var tables = StoreTables.All.ToDictionary(t => t, _ => new List<object>());
        foreach (var kv in records)
        {
            var (table, key) = _keys.ParseTableKey(kv.Key);
            tables[table].Add(_keys.ReadRecord(table, key, kv.Value));
        }

        LoadedRevision = revision;
        return new StoredState(at is null, at ?? 0, tables.ToDictionary(t => t.Key, t => (IReadOnlyList<object>)t.Value));
    }

    /// <summary>
    /// Refuses a prefix that holds something else, as <see cref="LoadAsync"/> does, without reading the
    /// state: what writes under the prefix before the state is loaded (the shared CA, the election) asks
    /// this first, so that nothing of ours is ever written into another's keys.
    /// </summary>
    /// <exception cref="StorageException">The prefix is another's, or etcd did not answer.</exception>
    public async Task EnsurePrefixIsOursAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var meta = await _kv.RangeAsync(new RangeRequest { Key = _keys.Meta }, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (meta.Kvs.Count > 0)
            {
                CheckOurs(meta.Kvs[0].Value, hasVersion: false, hasRecords: false, []);
                return;
            }

            var others = new List<string>();
            foreach (var (start, end) in _keys.StateRanges)
            {
                var keys = await _kv.RangeAsync(new RangeRequest { Key = start, RangeEnd = end, KeysOnly = true, Limit = 3 }, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                others.AddRange(keys.Kvs.Select(kv => kv.Key.ToStringUtf8()));
            }

            CheckOurs(null, hasVersion: false, hasRecords: false, [.. others.Take(3)]);
        }
        catch (RpcException e)
        {
            throw new StorageException($"cannot read the prefix {_keys.Prefix} from etcd ({_options.Endpoints}): {e.Status.StatusCode}: {e.Status.Detail}", e);
        }
    }

    /// <summary>A prefix with state in it but no meta, or meta of something else, is not ours to touch.</summary>
    private void CheckOurs(ByteString? meta, bool hasVersion, bool hasRecords, List<string> others)
    {
        var why = meta is not null
            ? _keys.ForeignMeta(meta)
            : hasVersion || hasRecords || others.Count > 0
                ? $"it holds keys ({string.Join(", ", others.DefaultIfEmpty(hasVersion ? _keys.Prefix + "/version" : _keys.Prefix + "/t/…"))}) but no {_keys.Prefix}/meta"
                : null;
        if (why is not null)
        {
            throw new StorageException($"the etcd prefix {_keys.Prefix} (Scheduler:Etcd:Prefix) is not a scheduler state of this version: {why}; nothing was changed. Use another prefix, or clear this one if it is not needed");
        }
    }

    public StoreCommit BeginCommit(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new StoreCommit(Task.FromCanceled<long>(cancellationToken), Task.FromCanceled(cancellationToken));
        }

        try
        {
            // etcd's answer to a Txn means a quorum has it on disk: durable as soon as written.
            var written = _writer.Run(() => Commit(changes, expectedVersion));
            return new StoreCommit(written, written);
        }
        catch (ObjectDisposedException)
        {
            return StoreCommit.Failed(Closed());
        }
    }

    /// <summary>On the writer thread: one Txn, sent with the blocking call, with nothing else in between.</summary>
    private long Commit(ChangeSet changes, long expectedVersion)
    {
        if (_closed)
        {
            throw Closed();
        }

        if (_lost.Task.IsCompleted)
        {
            throw new StorageException($"an earlier commit's outcome is unknown ({_lost.Task.Result.Message}); restart the scheduler to load what etcd holds");
        }

        var fence = _fence();
        if (fence is null && _fenced)
        {
            // Read here, on the writer thread, after the caller's check: the leadership may have gone since.
            throw new StorageException("the commit was refused: this scheduler is not the leader (it holds no election key); nothing was written",
                new EtcdFenceLostException("no election key is held"));
        }

        var txn = BuildTxn(changes, expectedVersion, fence);
        TxnResponse response;
        try
        {
            response = Send(txn);
        }
        catch (OutcomeUnknownException unknown)
        {
            return Resolve(txn, changes, expectedVersion, fence, unknown);
        }

        if (response.Succeeded)
        {
            return changes.IsEmpty ? expectedVersion : expectedVersion + 1;
        }

        // The failure branch read the version and the leader key: which compare failed?
        if (fence is not null)
        {
            var leader = response.Responses[1].ResponseRange.Kvs;
            if (leader.Count == 0 || leader[0].CreateRevision != fence.CreateRevision)
            {
                _fenceLost($"its election key {fence.LeaderKey.ToStringUtf8()} {(leader.Count == 0 ? "is gone" : "was made again")}");
                throw new StorageException(
                    $"the commit was refused: this scheduler is no longer the leader (its election key {fence.LeaderKey.ToStringUtf8()} {(leader.Count == 0 ? "is gone" : "was made again")}); nothing was written",
                    new EtcdFenceLostException($"the leader key {fence.LeaderKey.ToStringUtf8()} no longer has create revision {fence.CreateRevision}"));
            }
        }

        var current = response.Responses[0].ResponseRange.Kvs;
        var actual = current.Count == 0 ? 0 : _keys.ParseVersion(current[0].Value);
        if (actual == expectedVersion)
        {
            // Only the first commit's claim of the prefix can fail at the right version.
            throw new StorageException($"the etcd prefix {_keys.Prefix} (Scheduler:Etcd:Prefix) holds records or a meta but no version: it is not a scheduler state of this version; nothing was written");
        }

        var conflict = new StoreConflictException(expectedVersion, actual);
        if (_fenced)
        {
            _lost.TrySetResult(new StorageException($"this leader's memory is at version {expectedVersion} and etcd at {actual}: it must load the state again", conflict));
        }

        throw conflict;
    }

    /// <summary>
    /// The Txn of one commit: if the version (and the fence) hold, the changes in order and the next
    /// version; if not, read the version and the leader key to say which did not. etcd refuses a Txn
    /// that writes one key twice, so each key's last change stands for its earlier ones (the result is
    /// the same: the last change of a key wins).
    /// </summary>
    private TxnRequest BuildTxn(ChangeSet changes, long expectedVersion, EtcdFence? fence)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(expectedVersion == 0
            ? new Compare { Key = _keys.Version, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 }
            : new Compare { Key = _keys.Version, Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = EtcdKeys.VersionValue(expectedVersion) });
        if (fence is not null)
        {
            txn.Compare.Add(new Compare { Key = fence.LeaderKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = fence.CreateRevision });
        }

        if (expectedVersion == 0)
        {
            // The first commit claims the prefix: only where no meta and no record is there yet, so that a
            // prefix of something else is never written into, even by a store that was not loaded first.
            // Every key under P/ but the election's and the security material's must be absent.
            foreach (var (start, end) in _keys.StateRanges)
            {
                txn.Compare.Add(new Compare { Key = start, RangeEnd = end, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 });
            }
        }

        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = _keys.Version } });
        if (fence is not null)
        {
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = fence.LeaderKey } });
        }

        if (changes.IsEmpty)
        {
            return txn;
        }

        var last = new Dictionary<(StoreTable, string), int>();
        for (var i = 0; i < changes.Count; i++)
        {
            last[(changes.Changes[i].Table, changes.Changes[i].Key)] = i;
        }

        var writes = last.Count + 1 + (expectedVersion == 0 ? 1 : 0);
        if (writes > _options.MaxTxnOps)
        {
            throw new StorageException($"the commit changes {last.Count} records, and with the version that makes {writes} etcd operations in one Txn, over the limit of {_options.MaxTxnOps} (Scheduler:Etcd:MaxTxnOps, etcd's --max-txn-ops); nothing was written");
        }

        for (var i = 0; i < changes.Count; i++)
        {
            var change = changes.Changes[i];
            if (last[(change.Table, change.Key)] != i)
            {
                continue;
            }

            var key = _keys.Table(change.Table, change.Key);
            txn.Success.Add(change.IsDelete
                ? new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } }
                : new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(StoreJson.Write(change)) } });
        }

        if (expectedVersion == 0)
        {
            // The first commit marks the prefix as ours.
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = _keys.Meta, Value = EtcdKeys.MetaValue } });
        }

        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = _keys.Version, Value = EtcdKeys.VersionValue(expectedVersion + 1) } });
        var size = txn.CalculateSize() + RequestOverheadBytes;
        if (size > _options.MaxRequestBytes)
        {
            throw new StorageException($"the commit's etcd request would be {size} bytes, over the limit of {_options.MaxRequestBytes} (Scheduler:Etcd:MaxRequestBytes, etcd's --max-request-bytes); nothing was written");
        }

        return txn;
    }

    /// <summary>
    /// Sends the Txn. A request that never left (no member reachable) is sent again, a few times; one
    /// that etcd refused failed cleanly; one sent without an answer makes the store lost.
    /// </summary>
    private TxnResponse Send(TxnRequest txn)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return _kv.Txn(txn, deadline: Deadline());
            }
            catch (RpcException e)
            {
                switch (EtcdRpcFailure.Classify(e))
                {
                    case EtcdRpcOutcome.NotSent when attempt < SendAttempts:
                        Thread.Sleep(100 * attempt);
                        continue;
                    case EtcdRpcOutcome.NotSent or EtcdRpcOutcome.Refused:
                        throw new StorageException($"etcd ({_options.Endpoints}) did not take the commit: {e.Status.StatusCode}: {e.Status.Detail}; nothing was written", e);
                    default:
                        throw new OutcomeUnknownException(e.Status.StatusCode + ": " + e.Status.Detail, e);
                }
            }
            catch (OperationCanceledException e)
            {
                // A channel that reports its deadline as a cancellation: sent, and no answer all the same.
                throw new OutcomeUnknownException("no answer within " + _requestTimeout.TotalSeconds + " s", e);
            }
        }
    }

    /// <summary>
    /// A commit sent without an answer (the etcd member it went to died, a leader change inside etcd):
    /// the same Txn is sent again until one answer comes, which settles it. Its version compare makes
    /// that safe: of the two, at most one can land. Succeeded: the first had not landed and this one did.
    /// Refused at version + 1 with this scheduler's fence still whole: the first landed (only the fenced
    /// leader writes, one commit at a time). Anything else, or no answer within twice the request timeout:
    /// the outcome stays unknown, and the store is lost (the scheduler restarts and loads what etcd holds).
    /// </summary>
    private long Resolve(TxnRequest txn, ChangeSet changes, long expectedVersion, EtcdFence? fence, OutcomeUnknownException first)
    {
        var written = changes.IsEmpty ? expectedVersion : expectedVersion + 1;
        var giveUp = DateTime.UtcNow + 2 * _requestTimeout;
        var last = first;
        while (DateTime.UtcNow < giveUp)
        {
            Thread.Sleep(200);
            TxnResponse answer;
            try
            {
                answer = Send(txn);
            }
            catch (OutcomeUnknownException again)
            {
                last = again;
                continue;
            }
            catch (StorageException)
            {
                // Not sent this time (no member reachable yet): try again until the limit.
                continue;
            }

            if (answer.Succeeded)
            {
                return written;
            }

            var fenceWhole = fence is null ? !_fenced : answer.Responses[1].ResponseRange.Kvs is [var leader] && leader.CreateRevision == fence.CreateRevision;
            var current = answer.Responses[0].ResponseRange.Kvs;
            var actual = current.Count == 0 ? 0 : _keys.ParseVersion(current[0].Value);
            if (fenceWhole && actual == written && !changes.IsEmpty)
            {
                return written;
            }

            throw MarkLost($"{first.Message}; asked again, etcd is at version {actual}{(fenceWhole ? "" : " and this scheduler's leader key is gone")}", first);
        }

        throw MarkLost(last.Message, last);
    }

    /// <summary>A Txn was sent and no answer came: it may or may not have landed.</summary>
    private sealed class OutcomeUnknownException(string message, Exception inner) : Exception(message, inner);

    private StorageException MarkLost(string why, Exception error)
    {
        var lost = new StorageException(
            $"the commit was sent to etcd ({_options.Endpoints}) but not answered ({why}): it may have been written; the state must be loaded again",
            error, mayBeSaved: true);
        _lost.TrySetResult(lost);
        return lost;
    }

    private DateTime Deadline() => DateTime.UtcNow + _requestTimeout;

    private static StorageException Closed() => new("the etcd store is closed (the scheduler is stopping)");

    /// <summary>Lets the commits queued before finish, then stops the writer thread. The client is the caller's.</summary>
    public void Dispose()
    {
        try
        {
            _writer.Run(() => _closed = true).GetAwaiter().GetResult();
        }
        catch (ObjectDisposedException)
        {
            // Disposed before.
        }

        _writer.Dispose();
    }
}
