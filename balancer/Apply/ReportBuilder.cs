using Orchestrator.Balancer.Haproxy;
using Orchestrator.Balancer.Reconcile;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Balancer.Apply;

/// <summary>When the balancer gave a target its slot, and whether HAProxy has found it UP since.</summary>
internal sealed class TargetWatch(DateTimeOffset since)
{
    public DateTimeOffset Since { get; } = since;

    public bool SeenUp { get; set; }
}

/// <summary>
/// The report for the scheduler, pure but for the watches it updates: per group ACTIVE with every target's
/// check state, or FAILED with why; a group HAProxy does not run (yet) is FAILED too.
/// </summary>
internal static class ReportBuilder
{
    public const string Active = "ACTIVE";
    public const string Failed = "FAILED";

    public static BalancerReport Build(
        IReadOnlyList<DesiredGroup> desired,
        IReadOnlyDictionary<string, string> failures,
        IReadOnlyList<ServerSlot> slots,
        IReadOnlyList<StatRow> stats,
        IDictionary<string, TargetWatch> watches,
        DateTimeOffset now)
    {
        var report = new BalancerReport();
        var live = slots.Where(s => !s.Maintenance).GroupBy(s => (s.Backend, s.Key)).ToDictionary(g => g.Key, g => g.First());
        var rows = stats.GroupBy(r => (r.Backend, r.Server)).ToDictionary(g => g.Key, g => g.First());
        var backends = slots.Select(s => s.Backend).ToHashSet(StringComparer.Ordinal);
        var watched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in desired.OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            var backend = HaproxyNames.Backend(group.Name);
            var entry = new TargetGroupReport { TargetGroup = group.Name, State = Active };
            report.TargetGroups.Add(entry);
            if (failures.TryGetValue(group.Name, out var reason) || !backends.Contains(backend))
            {
                entry.State = Failed;
                entry.Reason = reason ?? "haproxy has not loaded this target group yet";
                continue;
            }

            var firstChecks = TimeSpan.FromSeconds((group.Check.IntervalSeconds * group.Check.UnhealthyThreshold) + group.Check.TimeoutSeconds);
            foreach (var target in group.Targets)
            {
                var watchKey = $"{group.Name}/{target.Key}";
                var item = new TargetReport { Id = target.Id, Host = target.Host, Port = target.Port, Draining = target.Draining };
                entry.Targets.Add(item);
                if (!live.TryGetValue((backend, target.Key), out var slot) || !rows.TryGetValue((backend, slot.Name), out var row))
                {
                    // No slot: a draining target that had none (nothing of it left), or one waiting for a slot.
                    item.CheckState = target.Draining ? CheckVerdict.Down : CheckVerdict.Initial;
                    item.CheckDescription = target.Draining ? "not in haproxy" : "waiting for a server slot";
                    continue;
                }

                watched.Add(watchKey);
                if (!watches.TryGetValue(watchKey, out var watch))
                {
                    watch = new TargetWatch(now);
                    watches[watchKey] = watch;
                }

                item.CheckState = CheckVerdict.Of(row.Status, row.CheckStatus, watch.SeenUp, now - watch.Since < firstChecks);
                if (item.CheckState == CheckVerdict.Up)
                {
                    watch.SeenUp = true;
                }

                item.CheckDescription = CheckVerdict.Description(row.CheckStatus, row.CheckCode, row.CheckDescription);
                item.CurrentConnections = row.CurrentSessions;
                // As HAProxy shows it, not as it was asked: a drain command that did not apply must not
                // let the scheduler stop a task that still takes new requests.
                item.Draining = slot.Draining;
            }
        }

        foreach (var gone in watches.Keys.Where(k => !watched.Contains(k)).ToList())
        {
            watches.Remove(gone);
        }

        return report;
    }

    /// <summary>Every group FAILED for one reason: HAProxy cannot be reached, say. Never silently healthy.</summary>
    public static BalancerReport AllFailed(IReadOnlyList<DesiredGroup> desired, string reason)
    {
        var report = new BalancerReport();
        foreach (var group in desired.OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            report.TargetGroups.Add(new TargetGroupReport { TargetGroup = group.Name, State = Failed, Reason = reason });
        }

        return report;
    }
}
