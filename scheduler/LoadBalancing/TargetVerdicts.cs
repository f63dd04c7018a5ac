namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>What one connected balancer says of one target in one target group.</summary>
/// <param name="GroupFailed">The balancer reports the group FAILED (it cannot serve it): its word on the targets does not count.</param>
/// <param name="Reported">The balancer's last report on the group lists the target.</param>
internal readonly record struct TargetSighting(bool GroupFailed, bool Reported, string CheckState, string Description, int Connections, bool Draining);

/// <summary>The balancers' word on one target, put together.</summary>
/// <param name="Reporting">How many balancers serving the group ACTIVE report the target.</param>
/// <param name="Failed">Some balancer serving the group reports it FAILED, and none reports the target.</param>
internal sealed record TargetObservation(TargetVerdict Verdict, string Description, int Connections, int Reporting, bool Failed)
{
    public static readonly TargetObservation None = new(TargetVerdict.Unknown, "", 0, 0, false);
}

/// <summary>
/// Puts the balancers' reports on a target together (see <see cref="ITargetHealth"/>): HEALTHY when any
/// balancer finds it UP, UNHEALTHY only when every balancer reporting it finds it DOWN, INITIAL
/// otherwise, UNKNOWN when none reports it. A balancer that reports the group FAILED is not counted:
/// its own trouble says nothing about the target.
/// </summary>
internal static class TargetVerdicts
{
    public const string Up = "UP";
    public const string Down = "DOWN";

    public static TargetObservation Aggregate(IEnumerable<TargetSighting> sightings)
    {
        var reported = new List<TargetSighting>();
        var failed = false;
        foreach (var s in sightings)
        {
            if (s.GroupFailed)
            {
                failed = true;
            }
            else if (s.Reported)
            {
                reported.Add(s);
            }
        }

        if (reported.Count == 0)
        {
            return TargetObservation.None with { Failed = failed };
        }

        var up = reported.FindIndex(s => IsState(s.CheckState, Up));
        var verdict = up >= 0 ? TargetVerdict.Healthy
            : reported.TrueForAll(s => IsState(s.CheckState, Down)) ? TargetVerdict.Unhealthy
            : TargetVerdict.Initial;

        // The description of a balancer that says what the verdict says.
        var telling = up >= 0 ? reported[up] : reported[0];
        return new TargetObservation(verdict, telling.Description, reported.Sum(s => Math.Max(0, s.Connections)), reported.Count, false);
    }

    private static bool IsState(string state, string wanted) => string.Equals(state, wanted, StringComparison.OrdinalIgnoreCase);
}
