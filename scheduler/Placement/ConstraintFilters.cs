using System.Collections.Frozen;

namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// The filter for each kind of placement constraint, registered by the constraint's type: a new
/// constraint is one constraint record, one filter type and one line here. Whether the filter is
/// static (decided by the node) or dynamic (changes as tasks are placed) is the filter's own type.
/// </summary>
internal static class ConstraintFilters
{
    private static readonly FrozenDictionary<Type, Func<PlacementConstraint, IPlacementFilter>> Registry = new[]
    {
        Register<MemberOfConstraint>(constraint => new MemberOfFilter(constraint)),
        Register<DistinctInstanceConstraint>(_ => DistinctInstanceFilter.Instance),
    }.ToFrozenDictionary(r => r.Type, r => r.FilterFor);

    public static IPlacementFilter For(PlacementConstraint constraint) =>
        Registry.TryGetValue(constraint.GetType(), out var filterFor)
            ? filterFor(constraint)
            : throw new InvalidOperationException($"no filter is registered for {constraint.GetType().Name}");

    private static (Type Type, Func<PlacementConstraint, IPlacementFilter> FilterFor) Register<TConstraint>(Func<TConstraint, IPlacementFilter> filterFor)
        where TConstraint : PlacementConstraint =>
        (typeof(TConstraint), constraint => filterFor((TConstraint)constraint));
}
