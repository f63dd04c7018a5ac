using Orchestrator.Scheduler.Agents;
using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Telemetry;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// The scheduler's state and its one writer. Every change goes through one commit protocol
/// (ClusterState.Commits.cs): validated first (and placed against a scratch view when it places
/// tasks), then its change set written to the store, then applied to memory, then published with its
/// version on the change feed (<see cref="Feed"/>) once it is durable, where the watch streams and
/// the agent dispatcher hear of it. A change the store refuses was never applied. Reads are served
/// from memory under the same lock, so they never see half a change; nothing here awaits.
/// </summary>
internal sealed partial class ClusterState : IAgentDirectory
{
    private readonly object _gate = new();
    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly TaskEventHub _events;
    private readonly SchedulerOptions _options;
    private readonly PortRange _dynamicPorts;
    private readonly PlacementSeeds _seeds;
    private readonly ILogger<ClusterState> _log;

    // Whether this scheduler may write: always, alone on LiteDB; with several on etcd, only the elected one.
    private readonly ILeadership _leadership;

    // Set once this scheduler leads with memory caught up with the store (at once for a sole leader;
    // for an elected one, by TakeOver): writes wait for it as well as for the leadership.
    private volatile bool _tookOver;

    private readonly Dictionary<string, ClusterRecord> _clusters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskDefinitionFamily> _families = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeEntry> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<string, NodeEntry>> _nodesByCluster = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunTaskReceipt> _receipts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceRecord> _services = new(StringComparer.Ordinal);

    // Task ids per service key, so a reconcile pass looks at its service's tasks, not at all of them.
    private readonly Dictionary<string, HashSet<string>> _tasksByService = new(StringComparer.Ordinal);
    private readonly SnapshotCache _snapshots;
    private readonly SecretVault _vault;

    // Where placements are timed and counted; a meter of its own, exported nowhere, when none is given (tests).
    private readonly SchedulerMeter _meter;

    /// <param name="secrets">Seals secret values: the data directory's key; without one (a state kept in
    /// memory, in tests), a key of this process only.</param>
    public ClusterState(IStateStore store, TimeProvider time, TaskEventHub events, SchedulerOptions options, ILogger<ClusterState> log, SecretCipher? secrets = null,
        SchedulerMeter? meter = null, ILeadership? leadership = null)
    {
        _leadership = leadership ?? new SoleLeadership("");
        _tookOver = _leadership.IsLeader;
        _meter = meter ?? new SchedulerMeter();
        _store = store;
        _time = time;
        _events = events;
        _options = options;
        _log = log;
        _dynamicPorts = options.ParseDynamicPortRange();
        _snapshots = new SnapshotCache(_dynamicPorts);
        _vault = new SecretVault(secrets ?? SecretCipher.Ephemeral(), log);

        // The watch streams first, then the agents, as each commit is published.
        _feed.Subscribe(events);
        _feed.Subscribe(_eventHub);
        _feed.Subscribe(new AgentDispatcher(this));
        _seeds = new PlacementSeeds(options.PlacementSeed ?? (ulong)Random.Shared.NextInt64());
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Waited for synchronously, as every commit is (see Store): the state is built in its constructor.
        var stored = store.LoadAsync().GetAwaiter().GetResult();
        _version = stored.Version;
        _feed.StartAt(stored.Version);
        var read = clock.Elapsed;
        Load(stored);
        Log.LoadTime(_log, read.TotalMilliseconds, (clock.Elapsed - read).TotalMilliseconds);
    }

    // The store's version as of this scheduler's last commit: each commit must find the store there.
    private long _version;

    private readonly ChangeFeed _feed = new();

    /// <summary>
    /// Where every commit is published once stored and applied, with its version, in order. Subscribers
    /// are called under the state's lock on the committing thread: they hand work on and never call back.
    /// </summary>
    public ChangeFeed Feed => _feed;

    private DateTimeOffset Now => _time.GetUtcNow();

    private void Load(StoredState stored)
    {
        // Memory is built as it is kept: every stored record applied as a put. Nothing is published:
        // no subscriber acts on what was already there (agents are told when they register).
        Apply(WriteBatch.From(stored.AsPuts()));

        // A standby never writes: the first leader makes the default cluster as it takes over (TakeOver).
        if (stored.IsNew && _leadership.IsLeader)
        {
            // A new database: ECS users expect a "default" cluster to be there. Only then: a user who
            // deleted it does not get it back at the next start.
            var first = new WriteBatch();
            first.Clusters.Add(new ClusterRecord(ClusterRecord.DefaultName, Now));
            Commit(first);
        }

        // After a restart no agent is connected yet; each gets the grace from now to come back.
        foreach (var entry in _nodes.Values)
        {
            entry.DisconnectedAt = Now;
        }

        Log.Loaded(_log, _clusters.Count, _nodes.Count, _tasks.Count, _families.Sum(f => f.Value.Revisions.Count));
        CheckSecretKey();
    }

    IAgentSession? IAgentDirectory.SessionOf(string cluster, string node) =>
        _nodes.GetValueOrDefault(NodeRecord.KeyOf(cluster, node))?.Session;

    TaskDefinitionEntry IAgentDirectory.DefinitionOf(TaskRecord task) => _families[task.Family].Revisions[task.Revision];

    ISecretValues IAgentDirectory.Secrets => _vault;

    /// <summary>Applies a stored batch to memory; returns each task it put, with the task before it.</summary>
    private List<TaskChange> Apply(WriteBatch batch)
    {
        var taskChanges = new List<TaskChange>(batch.Tasks.Count);
        foreach (var cluster in batch.Clusters)
        {
            _clusters[cluster.Name] = cluster;
        }

        foreach (var name in batch.DeletedClusters)
        {
            _clusters.Remove(name);
            _nodesByCluster.Remove(name);
            _snapshots.MembershipChanged(name);
        }

        foreach (var definition in batch.TaskDefinitions)
        {
            if (!_families.TryGetValue(definition.Family, out var family))
            {
                _families[definition.Family] = family = new TaskDefinitionFamily(definition.Family);
            }

            family.Revisions[definition.Revision] = TaskDefinitionEntry.From(definition);
        }

        foreach (var node in batch.Nodes)
        {
            if (_nodes.TryGetValue(node.Key, out var entry))
            {
                entry.Update(node);
                _snapshots.NodeChanged(node.Cluster, node.Name);
            }
            else
            {
                entry = new NodeEntry(node);
                _nodes[node.Key] = entry;
                NodesOf(node.Cluster)[node.Name] = entry;
                _snapshots.MembershipChanged(node.Cluster);
            }
        }

        foreach (var key in batch.DeletedNodes)
        {
            if (_nodes.Remove(key, out var entry))
            {
                NodesOf(entry.Record.Cluster).Remove(entry.Record.Name);
                _snapshots.MembershipChanged(entry.Record.Cluster);
            }
        }

        foreach (var task in batch.Tasks)
        {
            if (_tasks.TryGetValue(task.Id, out var old))
            {
                UsageOf(old)?.Remove(old);
                _taskCounts.Remove(old.LastStatus);
            }

            _taskCounts.Add(task.LastStatus);

            taskChanges.Add(new TaskChange(old, task));

            _tasks[task.Id] = task;
            UsageOf(task)?.Add(task);
            if (task.Service.Length > 0)
            {
                var key = ServiceRecord.KeyOf(task.Cluster, task.Service);
                if (!_tasksByService.TryGetValue(key, out var ids))
                {
                    _tasksByService[key] = ids = new HashSet<string>(StringComparer.Ordinal);
                }

                ids.Add(task.Id);
            }
        }

        foreach (var id in batch.DeletedTasks)
        {
            if (_tasks.Remove(id, out var old))
            {
                UsageOf(old)?.Remove(old);
                _taskCounts.Remove(old.LastStatus);
                if (old.Service.Length > 0 && _tasksByService.TryGetValue(ServiceRecord.KeyOf(old.Cluster, old.Service), out var ids))
                {
                    ids.Remove(id);
                }
            }
        }

        foreach (var service in batch.Services)
        {
            _services[service.Key] = service;
        }

        foreach (var key in batch.DeletedServices)
        {
            _services.Remove(key);
        }

        foreach (var receipt in batch.Receipts)
        {
            _receipts[receipt.Key] = receipt;
        }

        foreach (var key in batch.DeletedReceipts)
        {
            _receipts.Remove(key);
        }

        ApplySecurity(batch);
        ApplyTargetGroups(batch);
        ApplyEvents(batch);
        _vault.Apply(batch);
        return taskChanges;
    }

    private List<TaskRecord> TasksOf(ServiceRecord service) =>
        _tasksByService.TryGetValue(service.Key, out var ids) ? [.. ids.Select(id => _tasks[id])] : [];

    private NodeUsage? UsageOf(TaskRecord task)
    {
        if (!_nodes.TryGetValue(NodeRecord.KeyOf(task.Cluster, task.Node), out var entry))
        {
            return null;
        }

        entry.UsageChanged();
        _snapshots.NodeChanged(task.Cluster, task.Node);
        return entry.Usage;
    }

    private SortedDictionary<string, NodeEntry> NodesOf(string cluster)
    {
        if (!_nodesByCluster.TryGetValue(cluster, out var nodes))
        {
            _nodesByCluster[cluster] = nodes = new SortedDictionary<string, NodeEntry>(StringComparer.Ordinal);
        }

        return nodes;
    }

    /// <summary>The placement snapshot of a cluster, patched where nodes changed since the last one.</summary>
    private ClusterSnapshot SnapshotOf(string cluster) => _snapshots.Get(cluster, NodesOf(cluster));

    private ClusterRecord RequireCluster(string name, string field = "cluster")
    {
        return _clusters.TryGetValue(name, out var cluster)
            ? cluster
            : throw RequestException.NotFound(field, $"cluster \"{name}\" does not exist");
    }

    private static partial class Log
    {
        [LoggerMessage(LogEvents.StateLoaded, LogLevel.Information, "State loaded: {Clusters} clusters, {Nodes} nodes, {Tasks} tasks, {Revisions} task definition revisions")]
        public static partial void Loaded(ILogger logger, int clusters, int nodes, int tasks, int revisions);

        [LoggerMessage(LogEvents.StateLoadTime, LogLevel.Information, "State read from the database in {ReadMs:F0} ms, applied in {ApplyMs:F0} ms")]
        public static partial void LoadTime(ILogger logger, double readMs, double applyMs);

        [LoggerMessage(LogEvents.StateStoreWriteFailed, LogLevel.Error, "State write failed, the change was refused: {Problem}")]
        public static partial void StoreWriteFailed(ILogger logger, string problem);

        [LoggerMessage(LogEvents.NodeRegistered, LogLevel.Information, "Node {Cluster}/{Node} registered ({Cpu} cpu units, {Memory} MiB), agent {Version}")]
        public static partial void NodeRegistered(ILogger logger, string cluster, string node, int cpu, int memory, string version);

        [LoggerMessage(LogEvents.NodeDisconnected, LogLevel.Information, "Node {Cluster}/{Node}: agent disconnected")]
        public static partial void NodeDisconnected(ILogger logger, string cluster, string node);

        [LoggerMessage(LogEvents.NodeSilent, LogLevel.Warning, "Node {Cluster}/{Node}: no heartbeat for {Timeout}; disconnected")]
        public static partial void NodeSilent(ILogger logger, string cluster, string node, TimeSpan timeout);

        [LoggerMessage(LogEvents.NodeLost, LogLevel.Warning, "Node {Cluster}/{Node}: {Tasks} tasks recorded STOPPED (NodeLost): {Reason}")]
        public static partial void NodeLost(ILogger logger, string cluster, string node, int tasks, string reason);

        [LoggerMessage(LogEvents.DeregisteredNodeRefused, LogLevel.Warning, "Node {Cluster}/{Node} is deregistered (INACTIVE); its agent's registration was answered Deregistered")]
        public static partial void DeregisteredNodeRefused(ILogger logger, string cluster, string node);

        [LoggerMessage(LogEvents.TasksPruned, LogLevel.Information, "Pruned {Tasks} stopped tasks, {Receipts} RunTask receipts and {Events} cluster events older than {Retention}")]
        public static partial void Pruned(ILogger logger, int tasks, int receipts, int events, TimeSpan retention);
    }
}
