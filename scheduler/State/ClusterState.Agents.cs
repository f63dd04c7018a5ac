using Orchestrator.Scheduler.Agents;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>What the agent protocol does to the state: join, heartbeats, task reports, leaving.</summary>
internal sealed partial class ClusterState
{
    /// <summary>
    /// Registers (or re-registers) the node, makes <paramref name="session"/> its stream, applies the
    /// tasks the agent says it has, and answers with every task the scheduler has on the node: those to
    /// run and those to stop, including reported tasks it does not know.
    /// A newer stream for the same node replaces an older one. An INACTIVE (deregistered) node stays so:
    /// unless the agent asks to rejoin, its registration throws <see cref="NodeDeregisteredException"/>
    /// and changes nothing, however often the agent tries.
    /// </summary>
    /// <param name="credential">The certificate of the stream, with TLS: a second stream for a connected
    /// node replaces the first only with the same certificate or the node's newest one.</param>
    public AgentWelcome RegisterAgent(AgentRegistration registration, IAgentSession session, IReadOnlyList<Contract.TaskStateReport> reported, SessionCredential? credential = null)
    {
        lock (_gate)
        {
            RequireCluster(registration.Cluster);
            var key = NodeRecord.KeyOf(registration.Cluster, registration.NodeName);
            var existing = _nodes.GetValueOrDefault(key)?.Record;
            if (credential is not null && _nodes.GetValueOrDefault(key) is { Session: not null, SessionCredential: { } held }
                && held.Thumbprint != credential.Thumbprint && !credential.Current)
            {
                throw RequestException.Exists("register.nodeName",
                    $"node \"{registration.NodeName}\"'s agent is connected with another certificate; this stream is refused while it is");
            }

            if (existing?.Status == NodeState.Inactive && !registration.Rejoin)
            {
                Log.DeregisteredNodeRefused(_log, registration.Cluster, registration.NodeName);
                throw new NodeDeregisteredException(
                    $"node \"{registration.NodeName}\" was deregistered; start its agent with Agent:Rejoin=true to register it again");
            }

            var record = new NodeRecord(
                registration.Cluster,
                registration.NodeName,
                existing is null || existing.Status == NodeState.Inactive ? NodeState.Active : existing.Status,
                registration.Cpu,
                registration.Memory,
                registration.Attributes,
                registration.AgentVersion,
                existing?.RegisteredAt ?? Now)
            {
                CustomAttributes = existing?.CustomAttributes ?? Domain.Tags.None,
                // The agent's tags name the node when it is created (or rejoins); then TagResource owns them.
                Tags = existing is null || existing.Status == NodeState.Inactive
                    ? Domain.Tags.With(existing?.Tags ?? Domain.Tags.None, registration.Tags ?? Domain.Tags.None)
                    : existing.Tags,
                // The agent's settings as they are now: a restart with other settings changes them.
                Policy = registration.Policy ?? NodePolicy.None,
                PeerAddress = registration.PeerHost.Length > 0 ? registration.PeerHost : existing?.PeerAddress ?? "",
            };

            var joined = PendingEvent(registration.Cluster, ClusterEventType.NodeJoined, existing is null || existing.Status == NodeState.Inactive
                ? $"node {registration.NodeName} joined with {registration.Cpu} cpu units and {registration.Memory} MiB, agent {registration.AgentVersion}"
                : $"node {registration.NodeName}'s agent {registration.AgentVersion} registered again") with { Node = registration.NodeName };
            if (!record.SameAs(existing))
            {
                // Saved with the node's record it changes.
                var batch = new WriteBatch();
                batch.Nodes.Add(record);
                batch.Events.Add(joined);
                Commit(batch);
            }
            else
            {
                // An agent coming back unchanged stores nothing else: its registration does not wait for the event's flush.
                CommitEventsOnly(joined);
            }

            // What the agent runs is saved before the session is attached: a write the store refuses
            // then leaves no half-registered node behind.
            var entry = _nodes[key];
            var stopUnknown = new List<Contract.StopTaskCommand>();
            var changed = new Dictionary<string, TaskRecord>(StringComparer.Ordinal);
            foreach (var report in reported)
            {
                if (ApplyReportLocked(entry, report, changed) is { } answer)
                {
                    stopUnknown.Add(answer.StopTask);
                }
            }

            CommitReported(changed);

            if (entry.Session is { } previous && previous.Id != session.Id)
            {
                previous.Close();
            }

            entry.Attach(session, credential);
            entry.LastHeartbeatAt = Now;
            entry.DisconnectedAt = null;
            entry.NextLostCheckAt = null;
            _snapshots.NodeChanged(registration.Cluster, registration.NodeName);
            Log.NodeRegistered(_log, registration.Cluster, registration.NodeName, registration.Cpu, registration.Memory, registration.AgentVersion);

            var start = new List<Contract.StartTaskCommand>();
            var stop = new List<Contract.StopTaskCommand>();
            // As the last published commit left them: what is still being flushed reaches the agent
            // from the dispatcher once it is published (the session is attached by then).
            var unpublished = _unpublished.Count > 0 ? PublishedTasksWhereUnpublished() : null;
            var tasks = TasksOnNode(entry.Record)
                .Select(t => unpublished is not null && unpublished.TryGetValue(t.Id, out var published) ? published : t)
                .OfType<TaskRecord>();
            foreach (var task in tasks.Where(t => t.LastStatus != TaskState.Stopped))
            {
                // A draining task runs on until its stop is released (the dispatcher sends it then):
                // the agent is told to keep it, so that it neither stops it now nor as one it does not know.
                if (task.DesiredStatus == TaskState.Running || task.IsDraining)
                {
                    start.Add(AgentCommands.Start(task, _families[task.Family].Revisions[task.Revision], _vault).StartTask);
                }
                else
                {
                    stop.Add(AgentCommands.Stop(task.Id, task.StopCode, task.StoppedReason).StopTask);
                }
            }

            // A reported task the scheduler wants stopped is in the list already; add only the others.
            stop.AddRange(stopUnknown.Where(u => stop.All(s => s.TaskId != u.TaskId)));
            return new AgentWelcome(ViewOf(entry), _options.HeartbeatInterval, start, stop);
        }
    }

    /// <returns>Whether it counted: false for a stream that is no longer the node's.</returns>
    public bool Heartbeat(string nodeKey, IAgentSession session)
    {
        lock (_gate)
        {
            if (_nodes.TryGetValue(nodeKey, out var entry) && entry.Session?.Id == session.Id)
            {
                entry.LastHeartbeatAt = Now;
                return true;
            }

            return false;
        }
    }

    /// <summary>
    /// Disconnects every node whose agent has been silent longer than the heartbeat timeout: a frozen
    /// or cut-off agent can keep its TCP connection open long after it stopped working.
    /// </summary>
    /// <returns>How many nodes were disconnected.</returns>
    public int DisconnectSilentAgents()
    {
        lock (_gate)
        {
            var cutoff = Now - _options.HeartbeatTimeout;
            var silent = _nodes.Values.Where(e => e.Session is not null && e.LastHeartbeatAt < cutoff).ToList();
            foreach (var entry in silent)
            {
                Log.NodeSilent(_log, entry.Record.Cluster, entry.Record.Name, _options.HeartbeatTimeout);
                entry.Session!.Close();
                entry.Attach(null);
                entry.DisconnectedAt = Now;
                entry.NextLostCheckAt = null;
                _snapshots.NodeChanged(entry.Record.Cluster, entry.Record.Name);
            }

            if (silent.Count > 0)
            {
                CommitEventsOnly([.. silent.Select(e => PendingEvent(e.Record.Cluster, ClusterEventType.NodeDisconnected,
                    $"node {e.Record.Name}: no heartbeat for {_options.HeartbeatTimeout.TotalSeconds:0} s; disconnected") with { Node = e.Record.Name })]);
            }

            return silent.Count;
        }
    }

    /// <summary>
    /// Records STOPPED (NodeLost) the tasks of a node without its agent once each one's grace is over,
    /// so that services replace them; when the agent comes back it is told to stop them. The grace is
    /// Scheduler:NodeLostGrace from the disconnection, or, for a task whose definition has
    /// disconnect.stopAfterSeconds, that time plus its stop timeout and a margin from the node's last
    /// heartbeat: by then its agent has stopped it itself, so the replacement never runs next to it.
    /// </summary>
    public int StopTasksOfLostNodes()
    {
        lock (_gate)
        {
            var now = Now;
            var batch = new WriteBatch();
            var looked = new List<(NodeEntry Entry, DateTimeOffset Next)>();
            // A disconnected node gets no new tasks, so each is looked at again only when its next task is due.
            foreach (var entry in _nodes.Values.Where(e => !e.Connected && e.DisconnectedAt is not null && !(e.NextLostCheckAt > now)))
            {
                var next = DateTimeOffset.MaxValue;
                var due = new List<(TaskRecord Task, string Reason)>();
                foreach (var task in TasksOnNode(entry.Record).Where(t => t.LastStatus != TaskState.Stopped))
                {
                    var (lostAt, reason) = LostAt(entry, task);
                    if (lostAt <= now)
                    {
                        due.Add((task, reason));
                    }
                    else if (lostAt < next)
                    {
                        next = lostAt;
                    }
                }

                foreach (var group in due.GroupBy(d => d.Reason, StringComparer.Ordinal))
                {
                    Log.NodeLost(_log, entry.Record.Cluster, entry.Record.Name, group.Count(), group.Key);
                    batch.Events.Add(PendingEvent(entry.Record.Cluster, ClusterEventType.NodeLost,
                        $"{group.Key}; {group.Count()} tasks recorded STOPPED") with { Node = entry.Record.Name });
                }

                batch.Tasks.AddRange(due.Select(d => Stopped(d.Task, now, TaskStopCode.NodeLost, d.Reason)));
                looked.Add((entry, next));
            }

            if (!batch.IsEmpty)
            {
                Commit(batch);
            }

            // Only once the write went through: a refused one is tried again on the next tick.
            looked.ForEach(l => l.Entry.NextLostCheckAt = l.Next);
            return batch.Tasks.Count;
        }
    }

    /// <summary>When a task of a node without its agent counts as lost, and the reason it is then given.</summary>
    private (DateTimeOffset At, string Reason) LostAt(NodeEntry entry, TaskRecord task)
    {
        var disconnectedAt = entry.DisconnectedAt!.Value;
        if (_families.GetValueOrDefault(task.Family)?.Revisions.GetValueOrDefault(task.Revision)?.Disconnect is { } fence)
        {
            // After a scheduler restart the last heartbeat is not known: the start is the latest it can have been.
            var heardAt = entry.LastHeartbeatAt ?? disconnectedAt;
            return (heardAt + fence.Grace,
                $"node {entry.Record.Name} lost: no heartbeat for {fence.Grace.TotalSeconds:0} s; its agent stopped the task after disconnect.stopAfterSeconds = {fence.StopAfter.TotalSeconds:0}");
        }

        return (disconnectedAt + _options.NodeLostGrace, $"node {entry.Record.Name} lost: no agent for {_options.NodeLostGrace.TotalSeconds:0} s");
    }

    /// <summary>The stream ended. Only the node's current stream counts: an older one closing changes nothing.</summary>
    public void Disconnect(string nodeKey, IAgentSession session)
    {
        lock (_gate)
        {
            if (_nodes.TryGetValue(nodeKey, out var entry) && entry.Session?.Id == session.Id)
            {
                entry.Attach(null);
                entry.DisconnectedAt = Now;
                entry.NextLostCheckAt = null;
                _snapshots.NodeChanged(entry.Record.Cluster, entry.Record.Name);
                Log.NodeDisconnected(_log, entry.Record.Cluster, entry.Record.Name);
                CommitEventsOnly(PendingEvent(entry.Record.Cluster, ClusterEventType.NodeDisconnected,
                    $"node {entry.Record.Name}: its agent disconnected") with { Node = entry.Record.Name });
            }
        }
    }

    /// <summary>
    /// Applies a group of reports, from any agents, in order, and commits what they changed in one
    /// transaction: one LiteDB write for a whole burst of reports instead of one each. Returns, per
    /// report, the command to send back when the agent runs something it should not (a task the
    /// scheduler does not know, has on another node, or wants stopped). A report of a stream that was replaced is
    /// skipped; the agent repeats it on its new stream. Throws <see cref="RequestException"/> when the
    /// store refuses the write, and then nothing of the group is applied.
    /// </summary>
    public Contract.SchedulerMessage?[] ApplyReports(IReadOnlyList<AgentReport> reports) =>
        ApplyReportsAsync(reports).GetAwaiter().GetResult();

    /// <summary>
    /// <see cref="ApplyReports"/> with the group committed ahead of its flush (see <see cref="CommitAhead"/>):
    /// the task completes with the answers once the group is durable, and only then may its agents be
    /// answered or acknowledged. Throws (or fails with) <see cref="RequestException"/> when the store
    /// refuses the write or its flush fails; memory then holds nothing of the group.
    /// </summary>
    public async Task<Contract.SchedulerMessage?[]> ApplyReportsAsync(IReadOnlyList<AgentReport> reports)
    {
        var answers = new Contract.SchedulerMessage?[reports.Count];
        var durable = new List<Task>();
        lock (_gate)
        {
            var changed = new Dictionary<string, TaskRecord>(StringComparer.Ordinal);
            for (var i = 0; i < reports.Count; i++)
            {
                var (nodeKey, session, report) = reports[i];
                if (_nodes.TryGetValue(nodeKey, out var entry) && entry.Session?.Id == session.Id)
                {
                    answers[i] = ApplyReportLocked(entry, report, changed);
                }
            }

            // One commit, unless the store limits a commit (etcd): then as few as fit. Each task's
            // report stands alone (a task and the event its stop makes), so any cut is a safe one.
            foreach (var run in CommitChunks.Split([.. changed.Values], _store.Limits, _ => 2, t => CommitChunks.BytesOfPut(StoreTables.Tasks, t) + 512))
            {
                var batch = new WriteBatch { Origin = ChangeOrigin.AgentReport };
                batch.Tasks.AddRange(run);
                try
                {
                    durable.Add(CommitAhead(batch));
                }
                catch (RequestException refused)
                {
                    // The runs before stay written and are awaited below; the group fails with this.
                    durable.Add(Task.FromException(refused));
                }
            }
        }

        await Task.WhenAll(durable).ConfigureAwait(false);
        return answers;
    }

    /// <summary>Works out one report against the tasks as already changed by earlier reports of the group.</summary>
    private Contract.SchedulerMessage? ApplyReportLocked(NodeEntry entry, Contract.TaskStateReport report, Dictionary<string, TaskRecord> changed)
    {
        var task = changed.GetValueOrDefault(report.TaskId) ?? _tasks.GetValueOrDefault(report.TaskId);
        if (task is null || task.Cluster != entry.Record.Cluster || task.Node != entry.Record.Name)
        {
            return report.LastStatus == Contract.TaskStatus.Stopped
                ? null
                : AgentCommands.Stop(report.TaskId, TaskStopCode.None, "the scheduler has no such task on this node");
        }

        if (task.LastStatus == TaskState.Stopped)
        {
            // Recorded STOPPED while the node was away (NodeLost) and maybe replaced: it must not run on.
            return report.LastStatus == Contract.TaskStatus.Stopped ? null : AgentCommands.Stop(task.Id, task.StopCode, task.StoppedReason);
        }

        var updated = TaskReports.Apply(task, report, Now);
        if (updated is not null)
        {
            changed[task.Id] = updated;
            task = updated;
        }

        // The stop command may have been lost with an earlier stream: repeat it while the task runs,
        // unless its stop is held while it drains (then it has not been sent yet).
        if (task.DesiredStatus == TaskState.Stopped && task.LastStatus != TaskState.Stopped && report.LastStatus != Contract.TaskStatus.Stopping
            && task.DrainUntil is null)
        {
            return AgentCommands.Stop(task.Id, task.StopCode, task.StoppedReason);
        }

        return null;
    }

    /// <summary>A registration's reports: committed, durable, before the session is attached.</summary>
    private void CommitReported(Dictionary<string, TaskRecord> changed)
    {
        var batch = new WriteBatch { Origin = ChangeOrigin.AgentReport };
        batch.Tasks.AddRange(changed.Values);
        Commit(batch);
    }
}

/// <summary>One task state report as it came in on one agent's stream.</summary>
internal sealed record AgentReport(string NodeKey, IAgentSession Session, Contract.TaskStateReport Report);
