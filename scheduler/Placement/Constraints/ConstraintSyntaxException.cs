namespace Orchestrator.Scheduler.Placement.Constraints;

/// <summary>A malformed constraint expression; <see cref="Position"/> is 1-based.</summary>
internal sealed class ConstraintSyntaxException(string problem, int position)
    : Exception($"{problem} at position {position}")
{
    public string Problem { get; } = problem;
    public int Position { get; } = position;
}
