using System.Collections.Frozen;

namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// Tags of a resource (cluster, task definition revision, service, task, node): keys to values, as
/// ECS has them. Records keep them as a read-only dictionary that is replaced, never changed.
/// </summary>
internal static class Tags
{
    public static readonly IReadOnlyDictionary<string, string> None = FrozenDictionary<string, string>.Empty;

    /// <summary><paramref name="tags"/> with <paramref name="added"/> laid over it (added values win).</summary>
    public static IReadOnlyDictionary<string, string> With(IReadOnlyDictionary<string, string> tags, IReadOnlyDictionary<string, string> added)
    {
        if (added.Count == 0)
        {
            return tags;
        }

        var merged = new SortedDictionary<string, string>(tags.ToDictionary(), StringComparer.Ordinal);
        foreach (var (key, value) in added)
        {
            merged[key] = value;
        }

        return merged;
    }

    public static IReadOnlyDictionary<string, string> Without(IReadOnlyDictionary<string, string> tags, IEnumerable<string> keys)
    {
        var remaining = new SortedDictionary<string, string>(tags.ToDictionary(), StringComparer.Ordinal);
        foreach (var key in keys)
        {
            remaining.Remove(key);
        }

        return remaining;
    }

    /// <summary>Whether two tag sets hold the same pairs.</summary>
    public static bool Same(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        ReferenceEquals(a, b) || (a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value));
}

/// <summary>Which tags the tasks of a service or a RunTask get besides the request's own (ECS's propagateTags).</summary>
internal enum TagPropagation
{
    None = 0,
    TaskDefinition = 1,
    Service = 2,
}
