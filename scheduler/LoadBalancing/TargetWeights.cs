namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// HAProxy weights for the targets of one service in one target group. ECS controller: 100 each.
/// EXTERNAL (task sets): each task set takes a share of the traffic in proportion to its scale, spread
/// evenly over its targets; the weights are scaled so that the largest is 256 (HAProxy's maximum, for
/// the finest split), a set with scale above 0 never falls to 0 (at least 1), and a set at scale 0 gets 0.
/// </summary>
internal static class TargetWeights
{
    public const int Ecs = 100;
    public const int Max = 256;

    /// <param name="targetsPerSet">The serving (not draining) targets of each task set in the group.</param>
    /// <param name="scaleOf">A task set's scale in percent (0 for one the service no longer has).</param>
    /// <returns>The weight of one target of each task set.</returns>
    public static IReadOnlyDictionary<string, int> External(IReadOnlyDictionary<string, int> targetsPerSet, Func<string, double> scaleOf)
    {
        var perTarget = targetsPerSet
            .Where(s => s.Value > 0)
            .ToDictionary(s => s.Key, s => Math.Max(0, scaleOf(s.Key)) / s.Value, StringComparer.Ordinal);
        var largest = perTarget.Count == 0 ? 0 : perTarget.Values.Max();
        return perTarget.ToDictionary(
            s => s.Key,
            s => s.Value <= 0 || largest <= 0 ? 0 : Math.Clamp((int)Math.Round(s.Value / largest * Max, MidpointRounding.AwayFromZero), 1, Max),
            StringComparer.Ordinal);
    }
}
