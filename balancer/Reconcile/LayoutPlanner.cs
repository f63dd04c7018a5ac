using Orchestrator.Balancer.Haproxy;

namespace Orchestrator.Balancer.Reconcile;

/// <summary>The configuration the groups need, and why it must be loaded (null: what runs is it already).</summary>
internal sealed record LayoutPlan(IReadOnlyList<GroupLayout> Layout, string? ReloadReason);

/// <summary>
/// Which configuration the served groups need, pure: each group with the settings it has now and as many
/// slots as it has (or <see cref="HaproxyConfigRenderer.SlotsFor"/> gives a new one), doubled when its
/// targets outgrow them. A reload is needed when that differs from what was last loaded, or when what
/// HAProxy runs (its backends and their slot counts) is not that: a restart on another file, say.
/// </summary>
internal static class LayoutPlanner
{
    public static LayoutPlan Plan(IReadOnlyList<DesiredGroup> served, IReadOnlyList<GroupLayout>? loaded, IReadOnlyList<ServerSlot> actual, IReadOnlySet<string> outOfSlots)
    {
        var loadedByName = (loaded ?? []).ToDictionary(g => g.Name, StringComparer.Ordinal);
        var actualSlots = actual.GroupBy(s => s.Backend, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var layout = new List<GroupLayout>();
        foreach (var group in served.OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            var current = loadedByName.TryGetValue(group.Name, out var was) ? was.Slots : actualSlots.GetValueOrDefault(HaproxyNames.Backend(group.Name));
            var targets = Reconciler.Distinct(group.Targets).Count;
            var slots = HaproxyConfigRenderer.SlotsFor(targets, current);
            if (outOfSlots.Contains(group.Name) && slots <= targets)
            {
                slots *= 2;
            }

            layout.Add(new GroupLayout(group.Settings, slots));
        }

        return new LayoutPlan(layout, ReloadReason(layout, loaded, actualSlots));
    }

    private static string? ReloadReason(List<GroupLayout> layout, IReadOnlyList<GroupLayout>? loaded, Dictionary<string, int> actualSlots)
    {
        if (loaded is null)
        {
            return "first configuration of this balancer";
        }

        if (!layout.SequenceEqual(loaded.OrderBy(g => g.Name, StringComparer.Ordinal)))
        {
            var was = loaded.ToDictionary(g => g.Name, StringComparer.Ordinal);
            var now = layout.ToDictionary(g => g.Name, StringComparer.Ordinal);
            var added = now.Keys.Except(was.Keys).Order(StringComparer.Ordinal).ToList();
            var removed = was.Keys.Except(now.Keys).Order(StringComparer.Ordinal).ToList();
            var changed = now.Keys.Intersect(was.Keys).Where(n => now[n] != was[n]).Order(StringComparer.Ordinal).ToList();
            var parts = new List<string>();
            if (added.Count > 0)
            {
                parts.Add("added " + string.Join(", ", added));
            }

            if (removed.Count > 0)
            {
                parts.Add("removed " + string.Join(", ", removed));
            }

            if (changed.Count > 0)
            {
                parts.Add("changed " + string.Join(", ", changed));
            }

            return "target groups " + string.Join("; ", parts);
        }

        var runs = layout.All(g => actualSlots.GetValueOrDefault(HaproxyNames.Backend(g.Name)) == g.Slots)
            && actualSlots.Keys.All(b => layout.Any(g => HaproxyNames.Backend(g.Name) == b));
        return runs ? null : "haproxy runs another configuration than the balancer's";
    }
}
