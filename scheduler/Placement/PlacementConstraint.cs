using Orchestrator.Scheduler.Placement.Constraints;

namespace Orchestrator.Scheduler.Placement;

/// <summary>A parsed placement constraint.</summary>
internal abstract record PlacementConstraint;

/// <summary>Each task of the group on a different node.</summary>
internal sealed record DistinctInstanceConstraint : PlacementConstraint
{
    public override string ToString() => "distinctInstance";
}

/// <summary>Only nodes that match the expression.</summary>
internal sealed record MemberOfConstraint(string Text, ConstraintExpression Expression) : PlacementConstraint
{
    public override string ToString() => $"memberOf({Text})";
}
