namespace Orchestrator.Agent.Security;

/// <summary>
/// When to renew: once less than a third of the certificate's lifetime remains (Swarm renews in the
/// last half, with jitter). That leaves a third of the lifetime for failed attempts to be retried
/// while the old certificate still works.
/// </summary>
internal static class RenewalSchedule
{
    /// <summary>Checks at least this often, so a clock that jumps, or a certificate replaced on disk, is noticed.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromHours(1);

    public static DateTimeOffset DueAt(NodeCredentials credentials) => DueAt(credentials.NotBefore, credentials.NotAfter);

    public static DateTimeOffset DueAt(DateTimeOffset notBefore, DateTimeOffset notAfter) => notAfter - ((notAfter - notBefore) / 3);

    /// <returns>Zero when the certificate is due for renewal now; else how long to wait before looking again.</returns>
    public static TimeSpan Wait(DateTimeOffset now, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var due = DueAt(notBefore, notAfter);
        return now >= due ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Min((due - now).Ticks, CheckInterval.Ticks));
    }
}
