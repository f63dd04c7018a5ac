namespace Orchestrator.Agent.Runtime.Probes;

/// <summary>
/// Where a container's health stands, and Docker's rules for the next probe result (moby
/// daemon/health.go, handleProbeResult): one success makes it healthy and clears the failing streak; a
/// failure while it is still starting and within the start period does not count; otherwise it
/// lengthens the streak, and <c>retries</c> failures in a row make it unhealthy. Nothing ever goes
/// back to starting but a (re)start of the container.
/// </summary>
internal readonly record struct HealthState(ContainerHealth Status, int FailingStreak)
{
    /// <summary>Docker's default when the definition says 0.</summary>
    public const int DefaultRetries = 3;

    public static readonly HealthState Starting = new(ContainerHealth.Starting, 0);

    /// <param name="sinceStart">From the container's start to this probe's start.</param>
    public HealthState After(bool success, TimeSpan sinceStart, HealthCheckSpec check)
    {
        if (success)
        {
            return new HealthState(ContainerHealth.Healthy, 0);
        }

        if (Status == ContainerHealth.Starting && sinceStart < check.StartPeriod)
        {
            return this;
        }

        var streak = FailingStreak + 1;
        var retries = check.Retries > 0 ? check.Retries : DefaultRetries;
        return new HealthState(streak >= retries ? ContainerHealth.Unhealthy : Status, streak);
    }

    /// <summary>
    /// The argv a check runs, as Docker's getProbe and cmdProbe: ["CMD", args...] runs args,
    /// ["CMD-SHELL", cmd...] runs /bin/sh -c cmd...; ["NONE"], an empty test, a bare "CMD" and an
    /// unknown kind run nothing (Docker ignores those too).
    /// </summary>
    public static IReadOnlyList<string>? CommandOf(IReadOnlyList<string> test) =>
        test.Count < 2 ? null
        : test[0] == "CMD" ? [.. test.Skip(1)]
        : test[0] == "CMD-SHELL" ? ["/bin/sh", "-c", .. test.Skip(1)]
        : null;
}
