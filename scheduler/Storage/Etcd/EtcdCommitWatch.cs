using System.Runtime.CompilerServices;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using Mvccpb;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>One commit as a standby sees it on etcd's watch: the version it made, its changes, and its revision.</summary>
/// <remarks>
/// The changes are what the Txn wrote: where a commit changed one key twice, only the last change
/// (<see cref="EtcdStateStore"/> sends only that one), which leaves memory as the whole change set did.
/// </remarks>
internal sealed record EtcdWatchedCommit(long Version, ChangeSet Changes, long Revision);

/// <summary>The watch cannot go on: its start revision was compacted, or etcd or the connection ended it.</summary>
/// <param name="CompactRevision">Where etcd's history now starts, when that is why: the caller loads afresh.</param>
internal sealed class EtcdWatchException(string message, long? compactRevision = null, Exception? inner = null) : Exception(message, inner)
{
    public long? CompactRevision { get; } = compactRevision;
}

/// <summary>
/// A standby's input: every commit written under the prefix from a revision on, in order, read from
/// etcd's watch. All events of one revision are one Txn, so one commit; its P/version event gives the
/// version. Events of the election, the security material and the meta are not commits and are
/// skipped. It never reconnects on its own: a broken watch throws, and the caller, which knows the
/// last revision it applied, starts again from the next one (or loads afresh if that was compacted).
/// </summary>
internal sealed class EtcdCommitWatch(EtcdClient client, string prefix)
{
    private readonly EtcdKeys _keys = new(prefix);

    /// <summary>The commits at <paramref name="fromRevision"/> and after (a standby passes its LoadedRevision + 1).</summary>
    /// <exception cref="EtcdWatchException">The revision was compacted, the watch broke, or a commit could not be read.</exception>
    public async IAsyncEnumerable<EtcdWatchedCommit> ReadAsync(long fromRevision, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // "hasleader": a member cut off from its quorum ends the watch instead of leaving it silent, so a
        // standby does not believe itself current while it hears nothing (etcd's WithRequireLeader).
        using var call = client.GetConnection().WatchClient.Watch(new Grpc.Core.Metadata { { "hasleader", "true" } }, cancellationToken: cancellationToken);
        try
        {
            await call.RequestStream.WriteAsync(new WatchRequest
            {
                CreateRequest = new WatchCreateRequest { Key = _keys.RangeStart, RangeEnd = _keys.RangeEnd, StartRevision = fromRevision },
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EtcdWatchException($"cannot watch {_keys.Prefix} in etcd: {e.Status.StatusCode}: {e.Status.Detail}", inner: e);
        }

        while (true)
        {
            WatchResponse response;
            try
            {
                if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    throw new EtcdWatchException($"etcd ended the watch of {_keys.Prefix}");
                }

                response = call.ResponseStream.Current;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new EtcdWatchException($"the watch of {_keys.Prefix} broke: {e.Status.StatusCode}: {e.Status.Detail}", inner: e);
            }

            if (response.CompactRevision > 0)
            {
                throw new EtcdWatchException(
                    $"the watch of {_keys.Prefix} from revision {fromRevision} cannot start: etcd's history was compacted up to revision {response.CompactRevision}; load the state again",
                    response.CompactRevision);
            }

            if (response.Canceled)
            {
                throw new EtcdWatchException($"etcd cancelled the watch of {_keys.Prefix}: {response.CancelReason}");
            }

            // etcd never splits one revision's events over two responses (without fragments, not asked for).
            foreach (var revision in response.Events.GroupBy(e => e.Kv.ModRevision))
            {
                if (Commit(revision.Key, revision) is { } commit)
                {
                    yield return commit;
                }
            }
        }
    }

    /// <summary>The commit of one revision's events, or null where the revision wrote no state (an election, the security material).</summary>
    private EtcdWatchedCommit? Commit(long revision, IEnumerable<Event> events)
    {
        long? version = null;
        var changes = new List<Change>();
        try
        {
            foreach (var e in events)
            {
                switch (_keys.Classify(e.Kv.Key))
                {
                    case EtcdKeyKind.Version when e.Type == Event.Types.EventType.Put:
                        version = _keys.ParseVersion(e.Kv.Value);
                        break;
                    case EtcdKeyKind.Table:
                        var (table, key) = _keys.ParseTableKey(e.Kv.Key);
                        changes.Add(new Change(table, key, e.Type == Event.Types.EventType.Put ? _keys.ReadRecord(table, key, e.Kv.Value) : null));
                        break;
                    default:
                        break;
                }
            }
        }
        catch (StorageException error)
        {
            throw new EtcdWatchException($"the commit at etcd revision {revision} under {_keys.Prefix} cannot be read: {error.Message}", inner: error);
        }

        if (version is null)
        {
            return changes.Count == 0
                ? null
                : throw new EtcdWatchException($"etcd revision {revision} changed records under {_keys.Prefix} without moving {_keys.Prefix}/version: something other than a scheduler wrote there");
        }

        return new EtcdWatchedCommit(version.Value, new ChangeSet(changes), revision);
    }
}
