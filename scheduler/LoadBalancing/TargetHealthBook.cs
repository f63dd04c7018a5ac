using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>A connected balancer's word on one target group it serves (TargetGroup.balancers).</summary>
/// <param name="State">ACTIVE or FAILED as it reported, PENDING before its first report on the group.</param>
internal sealed record BalancerGroupStatus(string Balancer, string State, string Reason, DateTimeOffset UpdatedAt);

/// <summary>
/// The balancers' reports, by balancer, target group and target, kept in memory by the leader only
/// (<see cref="ITargetHealth"/>). A balancer is known from its hello to the end of its stream: one that
/// disconnects is forgotten with everything it reported. Each of its reports replaces the one before it.
/// The book also keeps which targets each balancer was last assigned, so that a draining task counts as
/// drained only once every balancer that was given it reports it draining (or gone) with no connection.
/// Thread-safe; <see cref="Changed"/> is raised, outside the book's lock, after a change of some verdict
/// or drain progress.
/// </summary>
internal sealed class TargetHealthBook : ITargetHealth
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BalancerEntry> _balancers = new(StringComparer.Ordinal);

    // The verdicts and drain progress as of the last change, to tell whether a report changed any.
    private Dictionary<(string Group, string Task), TargetVerdict> _verdicts = [];
    private Dictionary<string, DrainProgress> _drains = new(StringComparer.Ordinal);

    public event Action? Changed;

    /// <summary>The balancers connected now, by name.</summary>
    public IReadOnlyList<string> Balancers
    {
        get
        {
            lock (_gate)
            {
                return [.. _balancers.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>A balancer's stream said hello: it replaces any earlier stream of the same name (and what that one reported).</summary>
    /// <param name="targetGroups">The groups it serves; empty: all of them.</param>
    public void Attach(string name, long connection, IReadOnlyCollection<string> targetGroups, DateTimeOffset at)
    {
        lock (_gate)
        {
            _balancers[name] = new BalancerEntry(connection, targetGroups.Count == 0 ? null : targetGroups.ToHashSet(StringComparer.Ordinal), at);
        }

        RaiseIfChanged();
    }

    /// <summary>The stream ended: the balancer is forgotten, unless a newer stream of its name replaced it already.</summary>
    public void Detach(string name, long connection)
    {
        lock (_gate)
        {
            if (!_balancers.TryGetValue(name, out var entry) || entry.Connection != connection)
            {
                return;
            }

            _balancers.Remove(name);
        }

        RaiseIfChanged();
    }

    /// <summary>The targets last sent to the balancer, by group (the draining ones included).</summary>
    public void Assigned(string name, long connection, IReadOnlyDictionary<string, IReadOnlyList<DerivedTarget>> targets)
    {
        lock (_gate)
        {
            if (!_balancers.TryGetValue(name, out var entry) || entry.Connection != connection)
            {
                return;
            }

            entry.Assigned = targets.ToDictionary(g => g.Key, g => g.Value.Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        }

        RaiseIfChanged();
    }

    /// <summary>What HAProxy says now, for every group the balancer serves: replaces its earlier report.</summary>
    public void Report(string name, long connection, Contract.BalancerReport report, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (!_balancers.TryGetValue(name, out var entry) || entry.Connection != connection)
            {
                return;
            }

            var groups = new Dictionary<string, GroupReport>(StringComparer.Ordinal);
            foreach (var group in report.TargetGroups)
            {
                var failed = string.Equals(group.State, "FAILED", StringComparison.OrdinalIgnoreCase);
                var previous = entry.Reports.GetValueOrDefault(group.TargetGroup);

                // The state's time is when it last changed, not when it was last said.
                var since = previous is not null && previous.Failed == failed && previous.Reason == group.Reason ? previous.Since : at;
                var targets = new Dictionary<string, TargetReport>(StringComparer.Ordinal);
                foreach (var target in group.Targets)
                {
                    targets[target.Id] = new TargetReport(target.CheckState, target.CheckDescription, target.CurrentConnections, target.Draining);
                }

                groups[group.TargetGroup] = new GroupReport(failed, group.Reason, since, targets);
            }

            entry.Reports = groups;
        }

        RaiseIfChanged();
    }

    public TargetVerdict Of(string targetGroup, string taskId) => Observe(targetGroup, taskId).Verdict;

    /// <summary>The balancers' word on a target put together (<see cref="TargetVerdicts.Aggregate"/>).</summary>
    public TargetObservation Observe(string targetGroup, string taskId)
    {
        lock (_gate)
        {
            return ObserveLocked(targetGroup, taskId);
        }
    }

    public DrainProgress DrainOf(string taskId)
    {
        lock (_gate)
        {
            return DrainLocked(taskId);
        }
    }

    /// <summary>The connected balancers that serve the group, by name.</summary>
    public IReadOnlyList<BalancerGroupStatus> BalancersOf(string targetGroup)
    {
        lock (_gate)
        {
            return [.. _balancers.Where(b => b.Value.Serves(targetGroup)).OrderBy(b => b.Key, StringComparer.Ordinal).Select(b =>
                b.Value.Reports.TryGetValue(targetGroup, out var report)
                    ? new BalancerGroupStatus(b.Key, report.Failed ? "FAILED" : "ACTIVE", report.Failed ? report.Reason : "", report.Since)
                    : new BalancerGroupStatus(b.Key, "PENDING", "", b.Value.ConnectedAt))];
        }
    }

    private TargetObservation ObserveLocked(string group, string taskId) =>
        TargetVerdicts.Aggregate(_balancers.Values
            .Where(b => b.Serves(group) && b.Reports.ContainsKey(group))
            .Select(b =>
            {
                var report = b.Reports[group];
                return report.Targets.TryGetValue(taskId, out var t)
                    ? new TargetSighting(report.Failed, true, t.CheckState, t.Description, t.Connections, t.Draining)
                    : new TargetSighting(report.Failed, false, "", "", 0, false);
            }));

    private DrainProgress DrainLocked(string taskId)
    {
        var connections = 0;
        var drained = true;

        // Drained only when some balancer was given the task: with none (none connected yet, as right
        // after a failover, or none given it yet) nothing is known, and the hold waits for its deadline.
        var given = false;
        foreach (var balancer in _balancers.Values)
        {
            foreach (var report in balancer.Reports.Values.Where(r => !r.Failed))
            {
                if (report.Targets.TryGetValue(taskId, out var target))
                {
                    connections += Math.Max(0, target.Connections);
                }
            }

            foreach (var (group, assigned) in balancer.Assigned)
            {
                if (!assigned.Contains(taskId))
                {
                    continue;
                }

                given = true;

                // Given the task in this group: it must say the target drains (or is gone) with no connection left.
                if (!balancer.Reports.TryGetValue(group, out var report)
                    || (report.Targets.TryGetValue(taskId, out var target) && (!target.Draining || target.Connections > 0)))
                {
                    drained = false;
                }
            }
        }

        return new DrainProgress(connections, drained && given);
    }

    private void RaiseIfChanged()
    {
        bool changed;
        lock (_gate)
        {
            var keys = new HashSet<(string, string)>();
            var tasks = new HashSet<string>(StringComparer.Ordinal);
            foreach (var balancer in _balancers.Values)
            {
                foreach (var (group, report) in balancer.Reports)
                {
                    foreach (var id in report.Targets.Keys)
                    {
                        keys.Add((group, id));
                        tasks.Add(id);
                    }
                }

                foreach (var (group, assigned) in balancer.Assigned)
                {
                    foreach (var id in assigned)
                    {
                        keys.Add((group, id));
                        tasks.Add(id);
                    }
                }
            }

            var verdicts = keys.Select(k => (Key: k, ObserveLocked(k.Item1, k.Item2).Verdict)).Where(v => v.Verdict != TargetVerdict.Unknown).ToDictionary(v => v.Key, v => v.Verdict);
            var drains = tasks.ToDictionary(t => t, DrainLocked, StringComparer.Ordinal);
            changed = !SameAs(verdicts, _verdicts) || !SameAs(drains, _drains);
            _verdicts = verdicts;
            _drains = drains;
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }

    private static bool SameAs<TKey, TValue>(Dictionary<TKey, TValue> a, Dictionary<TKey, TValue> b)
        where TKey : notnull =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && EqualityComparer<TValue>.Default.Equals(v, p.Value));

    private sealed class BalancerEntry(long connection, HashSet<string>? groups, DateTimeOffset connectedAt)
    {
        public long Connection { get; } = connection;
        public DateTimeOffset ConnectedAt { get; } = connectedAt;
        public Dictionary<string, GroupReport> Reports { get; set; } = new(StringComparer.Ordinal);
        public Dictionary<string, HashSet<string>> Assigned { get; set; } = new(StringComparer.Ordinal);

        public bool Serves(string group) => groups is null || groups.Contains(group);
    }

    private sealed record GroupReport(bool Failed, string Reason, DateTimeOffset Since, Dictionary<string, TargetReport> Targets);

    private sealed record TargetReport(string CheckState, string Description, int Connections, bool Draining);
}
