using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// A standby's memory, kept warm from the leader's commits as the store's watch delivers them, and the
/// moment it takes over. Only the leader writes (<see cref="Begin"/> refuses everyone else); a standby
/// applies each commit the leader made, in version order, exactly as the leader applied it, so that
/// taking over loads nothing: it only waits until the last commit it saw is the store's last.
/// </summary>
internal sealed partial class ClusterState
{
    /// <summary>The store's version this memory holds: the last commit written here or replicated here.</summary>
    public long Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>This scheduler leads and its memory has caught up with the store: its writes can land.</summary>
    public bool Writable => _tookOver && _leadership.IsLeader;

    /// <summary>
    /// A commit the leader made, as the watch read it: applied to memory and published with origin
    /// <see cref="ChangeOrigin.Replicated"/> (the watch streams see it; no agent is sent anything).
    /// A commit at or below this memory's version was seen already (its own, written while it led) and is
    /// skipped.
    /// </summary>
    /// <exception cref="InvalidOperationException">A commit is missing before this one: memory can no longer follow the store (the caller restarts).</exception>
    public void ApplyReplicated(long version, ChangeSet changes)
    {
        lock (_gate)
        {
            if (version <= _version)
            {
                return;
            }

            if (version != _version + 1)
            {
                throw new InvalidOperationException($"the store's commit {version} came after {_version}: commits in between were missed");
            }

            var batch = WriteBatch.From(changes.Changes, ChangeOrigin.Replicated);
            var applied = new AppliedChanges(version, ChangeOrigin.Replicated, changes, Apply(batch));
            _version = version;
            _feed.Publish(applied);
        }
    }

    /// <summary>
    /// This scheduler was elected and its memory holds every commit up to the store's version: from now
    /// on it writes. Every node gets the disconnect grace from now, as after a restart (their agents
    /// come over from the old leader); a store that was never written gets its "default" cluster.
    /// </summary>
    public void TakeOver()
    {
        lock (_gate)
        {
            _tookOver = true;
            foreach (var entry in _nodes.Values)
            {
                if (entry.Session is null)
                {
                    entry.DisconnectedAt = Now;
                }
            }

            if (_version == 0 && _clusters.Count == 0)
            {
                var first = new WriteBatch();
                first.Clusters.Add(new Domain.ClusterRecord(Domain.ClusterRecord.DefaultName, Now));
                Commit(first);
            }

            Log.TookOver(_log, _version, _nodes.Count, _tasks.Count);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogEvents.TookOver, LogLevel.Warning, "Took over as the leader at version {Version}: {Nodes} nodes, {Tasks} tasks in memory; agents have the disconnect grace to come over")]
        public static partial void TookOver(ILogger logger, long version, int nodes, int tasks);
    }
}
