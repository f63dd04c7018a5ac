using System.Globalization;
using Orchestrator.Balancer.Haproxy;

namespace Orchestrator.Balancer.Reconcile;

/// <summary>What it takes to make HAProxy's slots what the groups want: runtime commands, in order, and the groups whose slots ran out.</summary>
internal sealed record ReconcilePlan(IReadOnlyList<string> Commands, IReadOnlySet<string> OutOfSlots);

/// <summary>
/// The live part of the diff, pure: the desired targets of each group against its backend's slots as
/// <c>show servers state</c> gives them. A target is matched to a slot by address:port (a slot in
/// maintenance is free, whatever address it still has); a matched slot gets the target's weight and is
/// made ready or set draining as the target wants; live slots of no target go to maintenance, and of two
/// live slots of one target all but one do. A target with no slot takes a free one: its address, weight 0,
/// ready, then forced down (so that it takes no request before it passed its rise checks: 2.6 brings a
/// slot out of maintenance as up), then its weight. A draining target with no slot is left out: there is
/// nothing of it to drain. The whole diff every time, so that a resync loses and duplicates nothing.
/// </summary>
internal static class Reconciler
{
    public static ReconcilePlan Plan(IEnumerable<DesiredGroup> groups, IReadOnlyList<ServerSlot> actual)
    {
        var commands = new List<string>();
        var outOfSlots = new HashSet<string>(StringComparer.Ordinal);
        var byBackend = actual.GroupBy(s => s.Backend, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderBy(SlotNumber).ToList(), StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var backend = HaproxyNames.Backend(group.Name);
            if (!byBackend.TryGetValue(backend, out var slots))
            {
                // Not loaded (yet): the reload that renders it comes first.
                continue;
            }

            if (!PlanGroup(backend, group, slots, commands))
            {
                outOfSlots.Add(group.Name);
            }
        }

        return new ReconcilePlan(commands, outOfSlots);
    }

    /// <summary>The desired targets of a group by address:port; of two with one address, the one not draining and the greater weight wins.</summary>
    public static IReadOnlyList<DesiredTarget> Distinct(IEnumerable<DesiredTarget> targets) =>
        [.. targets.GroupBy(t => t.Key, StringComparer.Ordinal)
            .Select(g => g.OrderBy(t => t.Draining).ThenByDescending(t => t.Weight).ThenBy(t => t.Id, StringComparer.Ordinal).First())];

    private static bool PlanGroup(string backend, DesiredGroup group, List<ServerSlot> slots, List<string> commands)
    {
        var desired = Distinct(group.Targets).ToDictionary(t => t.Key, StringComparer.Ordinal);
        var kept = new Dictionary<string, ServerSlot>(StringComparer.Ordinal);
        var free = new List<ServerSlot>();
        foreach (var slot in slots)
        {
            if (slot.Maintenance)
            {
                free.Add(slot);
            }
            else if (desired.ContainsKey(slot.Key) && kept.TryAdd(slot.Key, slot))
            {
                // The first live slot of a target is its slot.
            }
            else
            {
                commands.Add($"set server {backend}/{slot.Name} state maint");
                free.Add(slot);
            }
        }

        var enough = true;
        foreach (var target in desired.Values.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var name = target.Weight.ToString(CultureInfo.InvariantCulture);
            if (kept.TryGetValue(target.Key, out var slot))
            {
                var server = $"{backend}/{slot.Name}";
                if (target.Draining && !slot.Draining)
                {
                    commands.Add($"set server {server} state drain");
                }
                else if (!target.Draining && slot.Draining)
                {
                    commands.Add($"set server {server} state ready");
                }

                if (slot.Weight != target.Weight)
                {
                    commands.Add($"set weight {server} {name}");
                }

                continue;
            }

            if (target.Draining)
            {
                continue;
            }

            if (free.Count == 0)
            {
                enough = false;
                continue;
            }

            var taken = free[0];
            free.RemoveAt(0);
            var at = $"{backend}/{taken.Name}";
            commands.Add($"set server {at} addr {target.Host} port {target.Port.ToString(CultureInfo.InvariantCulture)}");
            commands.Add($"set weight {at} 0");
            commands.Add($"set server {at} state ready");
            commands.Add($"set server {at} health down");
            commands.Add($"set weight {at} {name}");
        }

        return enough;
    }

    private static int SlotNumber(ServerSlot slot) =>
        int.TryParse(slot.Name.AsSpan(HaproxyNames.SlotPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue;
}
