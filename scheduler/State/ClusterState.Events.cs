using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Cluster events. Each is put in the very batch whose change it tells of, so that it is saved, applied
/// and published with it or not at all. Most are worked out from the batch itself, against memory as it
/// is before the batch (<see cref="AddEvents"/>, called by both commit forms): a task put STOPPED, a
/// node put DRAINING, a service's deployments that started, completed, failed or were rolled back.
/// Those a batch does not show (a node's agent joining or leaving, a node lost, a placement that
/// failed) are added by their callers with <see cref="PendingEvent"/>.
/// </summary>
internal sealed partial class ClusterState
{
    private readonly SortedDictionary<long, ClusterEventRecord> _clusterEvents = [];
    private readonly ClusterEventHub _eventHub = new();

    // The last sequence given out: the stored events' highest at load, then one more per event.
    private long _eventSequence;

    /// <summary>Where the WatchEvents streams subscribe (the state subscribes it to its change feed).</summary>
    public ClusterEventHub EventHub => _eventHub;

    /// <summary>
    /// An event a caller adds to its batch: without its sequence yet, which <see cref="AddEvents"/>
    /// gives it when the batch is committed, so that sequences follow the commit order.
    /// </summary>
    private ClusterEventRecord PendingEvent(string cluster, ClusterEventType type, string message) => new(0, Now, cluster, type, message);

    /// <summary>
    /// Adds to the batch the events its changes cause and numbers them with the batch's pending ones:
    /// what happened to services first (a rollback before the placement that failed after it), then
    /// to nodes, then the callers' events (a node lost before its tasks stopped), then to tasks.
    /// </summary>
    private void AddEvents(WriteBatch batch)
    {
        // Most commits (RunTask groups, reports of running tasks) make no event: they are told apart
        // without allocating, as they are on the hot path.
        if (batch.Events.Count == 0 && batch.Services.Count == 0 && batch.Nodes.Count == 0 && !batch.Tasks.Exists(static t => t.LastStatus == TaskState.Stopped))
        {
            return;
        }

        var pending = batch.Events.ToList();
        batch.Events.Clear();
        var ordered = new List<ClusterEventRecord>();
        foreach (var service in batch.Services)
        {
            ordered.AddRange(ServiceEvents(_services.GetValueOrDefault(service.Key), service));
        }

        foreach (var node in batch.Nodes)
        {
            var before = _nodes.GetValueOrDefault(node.Key)?.Record;
            if (node.Status == NodeState.Draining && before?.Status != NodeState.Draining)
            {
                ordered.Add(PendingEvent(node.Cluster, ClusterEventType.NodeDraining, $"node {node.Name} is draining") with { Node = node.Name });
            }
        }

        ordered.AddRange(pending);
        var stopped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in batch.Tasks)
        {
            if (task.LastStatus == TaskState.Stopped && _tasks.GetValueOrDefault(task.Id)?.LastStatus != TaskState.Stopped && stopped.Add(task.Id))
            {
                ordered.Add(PendingEvent(task.Cluster, ClusterEventType.TaskStopped, $"task {task.Id} stopped: {task.StoppedReason}") with
                {
                    Node = task.Node,
                    Service = task.Service,
                    Deployment = task.Deployment,
                    Task = task.Id,
                    StopCode = task.StopCode,
                    StoppedReason = task.StoppedReason,
                });
            }
        }

        batch.Events.AddRange(ordered.Select(e => e with { Sequence = ++_eventSequence }));
    }

    /// <summary>What changed in a service's deployments between two versions of its record.</summary>
    private IEnumerable<ClusterEventRecord> ServiceEvents(ServiceRecord? before, ServiceRecord after)
    {
        var old = (before?.Deployments ?? []).ToDictionary(d => d.Id, StringComparer.Ordinal);
        var failed = false;
        ClusterEventRecord Event(ClusterEventType type, DeploymentRecord d, string message) =>
            PendingEvent(after.Cluster, type, message) with { Service = after.Name, Deployment = d.Id };

        foreach (var d in after.Deployments)
        {
            if (!old.TryGetValue(d.Id, out var was) || was.Rollout == d.Rollout || was.Rollout != RolloutState.InProgress)
            {
                continue;
            }

            if (d.Rollout == RolloutState.Completed)
            {
                yield return Event(ClusterEventType.DeploymentCompleted, d, $"service {after.Name} deployment {d.Id} completed");
                yield return Event(ClusterEventType.ServiceSteadyState, d, $"service {after.Name} has reached a steady state");
            }
            else if (d.Rollout == RolloutState.Failed)
            {
                failed = true;
                yield return Event(ClusterEventType.DeploymentFailed, d, $"service {after.Name} deployment {d.Id} failed: {d.RolloutReason}");
            }
        }

        // A new primary in the same change as a failure is the circuit breaker's rollback.
        // An EXTERNAL service may have no deployment yet: its task sets are its deployments.
        if (after.Deployments.Count > 0 && !old.ContainsKey(after.Primary.Id))
        {
            var primary = after.Primary;
            yield return failed
                ? Event(ClusterEventType.DeploymentRolledBack, primary, $"service {after.Name} rolled back: deployment {primary.Id} runs {primary.TaskDefinitionArn} again")
                : Event(ClusterEventType.DeploymentStarted, primary, $"service {after.Name} deployment {primary.Id} of {primary.TaskDefinitionArn} started");
        }
    }

    /// <summary>Keeps memory's events as the store's: called by <see cref="Apply"/>.</summary>
    private void ApplyEvents(WriteBatch batch)
    {
        foreach (var e in batch.Events)
        {
            _clusterEvents[e.Sequence] = e;
            _eventSequence = Math.Max(_eventSequence, e.Sequence);
        }

        foreach (var key in batch.DeletedEvents)
        {
            _clusterEvents.Remove(long.Parse(key, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Commits a batch of nothing but events a caller could not add to a change of its own (an agent
    /// that went away changes nothing stored), ahead of its flush (<see cref="CommitAhead"/>): no one
    /// waits for it, and it is published once durable. What happened stands in memory whatever becomes
    /// of it: a store that refuses the write is logged (by the commit) and the event is lost, not the change.
    /// </summary>
    private void CommitEventsOnly(params ClusterEventRecord[] events)
    {
        var batch = new WriteBatch();
        batch.Events.AddRange(events);
        try
        {
            // A failed flush was logged, and stops the scheduler (StoreLossStop): only observed here.
            _ = CommitAhead(batch).ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (RequestException)
        {
            // Refused already logged it.
        }
    }

    /// <summary>
    /// Subscribes first and then reads the stored events after the starting point, under the lock, so
    /// that none falls in between and none comes twice: those of a commit still on its way to the disk
    /// are not read, they come from the subscription once it is published.
    /// </summary>
    /// <param name="sinceSequence">Replay the events after this sequence; with <paramref name="since"/>, null for neither (live only).</param>
    /// <param name="since">Replay the events at or after this time.</param>
    public (FeedWatch<ClusterEventRecord> Subscription, IReadOnlyList<ClusterEventRecord> Past) WatchEvents(ClusterEventFilter filter, long? sinceSequence, DateTimeOffset? since)
    {
        lock (_gate)
        {
            RequireCluster(filter.Cluster);
            var subscription = _eventHub.Subscribe(filter, afterVersion: _feed.Version);
            if (sinceSequence is null && since is null)
            {
                return (subscription, []);
            }

            var unpublished = _unpublished.SelectMany(u => u.Applied.Changes.Puts(StoreTables.Events)).Select(e => e.Sequence).ToHashSet();
            IReadOnlyList<ClusterEventRecord> past = [.. _clusterEvents.Values.Where(e =>
                (sinceSequence is not { } after || e.Sequence > after)
                && (since is not { } from || e.Time >= from)
                && !unpublished.Contains(e.Sequence)
                && filter.Matches(e))];
            return (subscription, past);
        }
    }

    /// <summary>The stored events that match, oldest first, between the times (start inclusive, end exclusive).</summary>
    public IReadOnlyList<ClusterEventRecord> ListEvents(ClusterEventFilter filter, DateTimeOffset? start, DateTimeOffset? end)
    {
        lock (_gate)
        {
            RequireCluster(filter.Cluster);
            return [.. _clusterEvents.Values.Where(e => (start is null || e.Time >= start) && (end is null || e.Time < end) && filter.Matches(e))];
        }
    }
}
