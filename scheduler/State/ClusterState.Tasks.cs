using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Telemetry;

namespace Orchestrator.Scheduler.State;

internal sealed partial class ClusterState
{
    /// <summary>Runs one RunTask on its own; see <see cref="RunTasks"/>.</summary>
    public RunTaskOutcome RunTask(RunTaskCommand command)
    {
        var result = RunTasks([command])[0];
        return result.Outcome ?? throw result.Error!;
    }

    /// <summary>Runs a group of RunTasks and waits for it; see <see cref="RunTasksAsync"/>.</summary>
    public IReadOnlyList<RunTaskResult> RunTasks(IReadOnlyList<RunTaskCommand> commands) =>
        RunTasksAsync(commands).GetAwaiter().GetResult();

    /// <summary>
    /// Places and records a group of RunTasks with one commit. Each is placed under the lock against a
    /// scratch view (<see cref="RunTaskScratch"/>): memory's snapshot less what the earlier requests of
    /// the group took, so two never take the same free room, while memory itself stays untouched. Then
    /// the group's one change set is committed ahead of its flush (<see cref="CommitAhead"/>): written
    /// and applied before the lock is left, so the next group is placed while this one's flush runs; the
    /// task completes once it is durable and published (the agents' start commands come from the feed),
    /// and only then may anyone be answered. When the store refuses the write, or its flush fails, every
    /// request of the group fails and memory holds nothing of it; a request that is wrong on its own
    /// (unknown family, reused client token) fails alone.
    /// </summary>
    public Task<IReadOnlyList<RunTaskResult>> RunTasksAsync(IReadOnlyList<RunTaskCommand> commands)
    {
        var results = new RunTaskResult[commands.Count];
        var commits = new List<(List<int> Requests, Task Durable)>();
        lock (_gate)
        {
            var scratch = new RunTaskScratch(SnapshotOf);
            var placed = new List<(int Request, WriteBatch Batch)>();
            for (var i = 0; i < commands.Count; i++)
            {
                try
                {
                    var (outcome, batch) = Place(commands[i], scratch);
                    results[i] = new RunTaskResult(outcome, null);
                    if (batch is not null)
                    {
                        scratch.Took(commands[i].Cluster, batch.Tasks, batch.Receipts.SingleOrDefault());
                        placed.Add((i, batch));
                    }
                }
                catch (RequestException e)
                {
                    results[i] = new RunTaskResult(null, e);
                }
            }

            // One commit for the group, unless the store limits a commit (etcd): then as few as fit,
            // each holding whole requests. An empty group still commits nothing, which waits for a
            // commit still on its way to the disk that a receipt may come from.
            var runs = CommitChunks.Split(placed, _store.Limits, p => ChangesOf(p.Batch), p => BytesOf(p.Batch));
            if (runs.Count == 0)
            {
                runs.Add([]);
            }

            foreach (var run in runs)
            {
                var group = new WriteBatch();
                foreach (var (_, batch) in run)
                {
                    group.Tasks.AddRange(batch.Tasks);
                    group.Receipts.AddRange(batch.Receipts);
                }

                var requests = run.ConvertAll(p => p.Request);
                try
                {
                    commits.Add((requests, CommitAhead(group)));
                }
                catch (RequestException refused)
                {
                    commits.Add((requests, Task.FromException(refused)));
                }
            }
        }

        return AnsweredWhenDurableAsync(results, commits);
    }

    /// <summary>
    /// Answers once every commit of the group is durable. A request whose commit failed fails with it,
    /// and so does every request answered from a receipt when any commit failed: the receipt may be
    /// one the group itself made.
    /// </summary>
    private static async Task<IReadOnlyList<RunTaskResult>> AnsweredWhenDurableAsync(RunTaskResult[] results, List<(List<int> Requests, Task Durable)> commits)
    {
        RequestException? failed = null;
        var committed = new HashSet<int>();
        foreach (var (requests, durable) in commits)
        {
            committed.UnionWith(requests);
            try
            {
                await durable.ConfigureAwait(false);
            }
            catch (RequestException refused)
            {
                failed ??= refused;
                foreach (var i in requests)
                {
                    results[i] = results[i].Error is null ? new RunTaskResult(null, refused) : results[i];
                }
            }
        }

        if (failed is not null)
        {
            for (var i = 0; i < results.Length; i++)
            {
                if (!committed.Contains(i) && results[i].Error is null)
                {
                    results[i] = new RunTaskResult(null, failed);
                }
            }
        }

        return results;
    }

    /// <summary>What one request's batch adds to a commit: its tasks and receipt (a new task makes no event).</summary>
    private static int ChangesOf(WriteBatch batch) => batch.Tasks.Count + batch.Receipts.Count;

    private static int BytesOf(WriteBatch batch) =>
        batch.Tasks.Sum(t => CommitChunks.BytesOfPut(StoreTables.Tasks, t)) + batch.Receipts.Sum(r => CommitChunks.BytesOfPut(StoreTables.Receipts, r));

    /// <summary>
    /// One RunTask's (or StartTask's) placement against the group's scratch view, and the batch that records it (null
    /// when it records nothing: a retry answered from its receipt, or nothing placed). Call under the lock.
    /// </summary>
    private (RunTaskOutcome Outcome, WriteBatch? Batch) Place(RunTaskCommand command, RunTaskScratch scratch)
    {
        RequireCluster(command.Cluster);
        string? receiptKey = null;
        if (command.ClientToken.Length > 0)
        {
            receiptKey = RunTaskReceipt.KeyOf(command.Cluster, command.ClientToken);
            if (scratch.Receipts.TryGetValue(receiptKey, out var receipt) || _receipts.TryGetValue(receiptKey, out receipt))
            {
                if (receipt.RequestHash != command.RequestHash)
                {
                    throw RequestException.Exists("clientToken", $"was already used for a different {command.Call} request");
                }

                TaskRecord? Known(string id) => scratch.Tasks.GetValueOrDefault(id) ?? _tasks.GetValueOrDefault(id);
                return (new RunTaskOutcome([.. receipt.TaskIds.Select(Known).OfType<TaskRecord>()], receipt.Failures), null);
            }
        }

        var definition = Resolve(command.TaskDefinition, "taskDefinition");
        if (!definition.Record.Active)
        {
            throw RequestException.Precondition("taskDefinition", $"task definition \"{definition.Record.Arn}\" is INACTIVE; new tasks of it cannot run");
        }

        // The request's tags are at most 50, but with the task definition's they can be more.
        var tags = Tags.With(command.PropagateTags == TagPropagation.TaskDefinition ? definition.Record.Tags : Tags.None, command.Tags ?? Tags.None);
        if (tags.Count > MaxTagsPerResource)
        {
            throw RequestException.Invalid("tags", $"a task has at most {MaxTagsPerResource} tags; with the task definition's this would give it {tags.Count}");
        }

        var pins = PinSecrets(definition);
        if (!pins.Placeable)
        {
            // Placed nowhere, so no receipt, as when no node has room: a retry once the secret is put can place.
            return (new RunTaskOutcome([], [.. SecretFailures(pins, command.Count).Select(f => new ReceiptFailure(command.Nodes?[f.TaskOrdinal] ?? definition.Record.Arn, f.Reason, f.Detail))]), null);
        }

        var group = command.Group.Length > 0 ? command.Group : $"family:{definition.Record.Family}";

        // What one task reserves, with the overrides' sizes: worked out once here, never per node.
        var demand = command.Overrides is null ? definition.Record.Demand : OverrideValidator.DemandOf(command.Overrides, definition);
        var request = new PlacementRequest(demand, command.Count, command.Strategies, definition.ConstraintsWith(command.Constraints), group, definition.Policy, definition.DockerOnly);
        var snapshot = scratch.SnapshotOf(command.Cluster);
        var placing = SchedulerMeter.Now();
        var result = command.Nodes is { } nodes
            ? NamedNodePlacement.Place(request, snapshot, nodes, _seeds.Next())
            : PlacementEngine.Place(request, snapshot, _seeds.Next());
        _meter.Placed(placing, result);

        var now = Now;
        var tasks = result.Placed.Select(decision => NewTask(command.Cluster, command.StartedBy, definition, demand, group, decision, now) with
        {
            Tags = tags,
            Overrides = command.Overrides,
            SecretVersions = pins.Versions,
        }).ToList();

        // RunTask's failures are about the definition, StartTask's about each node.
        var failures = result.Failed.Select(f => new ReceiptFailure(command.Nodes?[f.TaskOrdinal] ?? definition.Record.Arn, f.Reason, f.Detail)).ToList();
        var outcome = new RunTaskOutcome(tasks, failures);
        if (tasks.Count == 0)
        {
            // A request that placed nothing started nothing: it leaves no receipt, so a retry with the
            // same token (say, once the agents are back after a scheduler restart) can still place.
            return (outcome, null);
        }

        var batch = new WriteBatch();
        batch.Tasks.AddRange(tasks);
        if (receiptKey is not null)
        {
            batch.Receipts.Add(new RunTaskReceipt(receiptKey, command.RequestHash, [.. tasks.Select(t => t.Id)], failures, now));
        }

        return (outcome, batch);
    }

    /// <summary>
    /// Sets the desired status to STOPPED and tells the node, which reports STOPPED once the containers
    /// are gone. A task already asked to stop is answered as it is.
    /// </summary>
    public TaskRecord StopTask(string cluster, string taskId, string reason, TaskStopCode code = TaskStopCode.UserInitiated)
    {
        lock (_gate)
        {
            var task = RequireTask(cluster, taskId);
            if (task.DesiredStatus == TaskState.Stopped)
            {
                return task;
            }

            reason = reason.Length > 0 ? reason : "Task stopped by user";
            var now = Now;
            var batch = new WriteBatch();
            batch.Tasks.Add(Stopping(task, code, reason, now));
            Commit(batch);
            return _tasks[task.Id];
        }
    }

    public IReadOnlyList<TaskRecord?> DescribeTasks(string cluster, IReadOnlyList<string> ids)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            return [.. ids.Select(id => _tasks.TryGetValue(id, out var t) && t.Cluster == cluster ? t : null)];
        }
    }

    /// <summary>Task ids that match every given filter, ordered by id.</summary>
    public IReadOnlyList<string> ListTasks(string cluster, string family, string node, TaskState? desired, string startedBy, string service)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            return [.. _tasks.Values
                .Where(t => t.Cluster == cluster
                    && (family.Length == 0 || t.Family == family)
                    && (node.Length == 0 || t.Node == node)
                    && (desired is null || t.DesiredStatus == desired)
                    && (startedBy.Length == 0 || t.StartedBy == startedBy)
                    && (service.Length == 0 || t.Service == service))
                .Select(t => t.Id)
                .Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Subscribes first and then reads the current tasks, so that no change falls in between.</summary>
    public (FeedWatch<TaskRecord> Subscription, IReadOnlyList<TaskRecord> Existing) Watch(TaskWatchFilter filter, bool includeExisting)
    {
        lock (_gate)
        {
            RequireCluster(filter.Cluster);
            // The watcher's view starts at what is published: a commit still being flushed is not among
            // the existing tasks, and comes as events once it is published.
            var subscription = _events.Subscribe(filter, afterVersion: _feed.Version);
            var unpublished = _unpublished.Count > 0 ? PublishedTasksWhereUnpublished() : null;
            IReadOnlyList<TaskRecord> existing = includeExisting
                ? [.. _tasks.Values
                    .Select(t => unpublished is not null && unpublished.TryGetValue(t.Id, out var published) ? published : t)
                    .OfType<TaskRecord>()
                    .Where(filter.Matches)
                    .OrderBy(t => t.CreatedAt).ThenBy(t => t.Id, StringComparer.Ordinal)]
                : [];
            return (subscription, existing);
        }
    }

    /// <summary>Forgets STOPPED tasks, RunTask receipts and cluster events older than the retention.</summary>
    public void PruneHistory()
    {
        lock (_gate)
        {
            var cutoff = Now - _options.StoppedTaskRetention;
            var batch = new WriteBatch();
            batch.DeletedTasks.AddRange(_tasks.Values.Where(t => t.LastStatus == TaskState.Stopped && t.StoppedAt < cutoff).Select(t => t.Id));
            batch.DeletedReceipts.AddRange(_receipts.Values.Where(r => r.CreatedAt < cutoff).Select(r => r.Key));
            // Oldest first, so the scan stops at the first event to keep.
            batch.DeletedEvents.AddRange(_clusterEvents.Values.TakeWhile(e => e.Time < cutoff).Select(e => e.Key));
            if (!batch.IsEmpty)
            {
                Commit(batch);
                Log.Pruned(_log, batch.DeletedTasks.Count, batch.DeletedReceipts.Count, batch.DeletedEvents.Count, _options.StoppedTaskRetention);
            }
        }
    }

    private TaskRecord RequireTask(string cluster, string taskId)
    {
        RequireCluster(cluster);
        return _tasks.TryGetValue(taskId, out var task) && task.Cluster == cluster
            ? task
            : throw RequestException.NotFound("task", $"task \"{taskId}\" does not exist in cluster \"{cluster}\"");
    }

    /// <param name="demand">What the task reserves: its definition's, or with RunTask's overrides.</param>
    private static TaskRecord NewTask(string cluster, string startedBy, TaskDefinitionEntry definition, TaskResourceDemand demand, string group, PlacementDecision decision, DateTimeOffset now, string service = "", string deployment = "")
    {
        var containers = definition.Spec.ContainerDefinitions.Select(c =>
        {
            var bindings = new List<PortBinding>();
            for (var i = 0; i < demand.Ports.Count; i++)
            {
                var port = demand.Ports[i];
                if (port.ContainerName == c.Name)
                {
                    bindings.Add(new PortBinding(port.ContainerPort, decision.HostPorts[i], port.Protocol));
                }
            }

            return new ContainerRecord(c.Name, c.Image, !c.HasEssential || c.Essential, TaskState.Provisioning, bindings);
        }).ToList();

        return new TaskRecord
        {
            Id = Guid.NewGuid().ToString("N"),
            Cluster = cluster,
            TaskDefinitionArn = definition.Record.Arn,
            Family = definition.Record.Family,
            Revision = definition.Record.Revision,
            Node = decision.Node,
            LastStatus = TaskState.Provisioning,
            DesiredStatus = TaskState.Running,
            Containers = containers,
            Group = group,
            StartedBy = startedBy,
            Service = service,
            Deployment = deployment,
            Cpu = demand.Cpu,
            Memory = demand.Memory,
            CreatedAt = now,
        };
    }

    /// <summary>
    /// The task asked to stop: the node will report STOPPED once its containers are gone. A task that is
    /// a target of its service's target groups drains first: its stop is held until
    /// <see cref="TaskRecord.DrainUntil"/> (ClusterState.Draining.cs), in this same commit.
    /// </summary>
    private TaskRecord Stopping(TaskRecord task, TaskStopCode code, string reason, DateTimeOffset now) => task with
    {
        DesiredStatus = TaskState.Stopped,
        StopCode = code,
        StoppedReason = reason,
        StoppingAt = now,
        DrainUntil = DrainUntilOf(task, now),
        Version = task.Version + 1,
    };

    /// <summary>The task as the scheduler records it once it stopped without its node's word.</summary>
    private static TaskRecord Stopped(TaskRecord task, DateTimeOffset now, TaskStopCode code, string reason) => task with
    {
        LastStatus = TaskState.Stopped,
        DesiredStatus = TaskState.Stopped,
        StopCode = task.StopCode == TaskStopCode.None ? code : task.StopCode,
        StoppedReason = task.StoppedReason.Length > 0 ? task.StoppedReason : reason,
        StoppingAt = task.StoppingAt ?? now,
        StoppedAt = now,
        DrainUntil = null, // gone: nothing left to drain
        Containers = [.. task.Containers.Select(c => c.LastStatus == TaskState.Stopped ? c : c with { LastStatus = TaskState.Stopped })],
        Version = task.Version + 1,
    };
}
