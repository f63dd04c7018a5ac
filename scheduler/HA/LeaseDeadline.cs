namespace Orchestrator.Scheduler.HA;

/// <summary>
/// The leader's own, conservative view of its lease: it ends at the send time of the last keep-alive
/// that etcd answered with a live TTL, plus that TTL, minus a margin. etcd counts the same TTL from the
/// moment it received that keep-alive, which is later than we sent it, so this deadline always comes
/// before etcd can expire the lease, and a leader that checks it stops writing before a successor can
/// be elected. Read on the monotonic clock: a wall-clock step cannot stretch it.
/// </summary>
internal sealed class LeaseDeadline
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private long _renewedAt;
    private TimeSpan _validFor;

    /// <param name="sentAt">When the request that granted the lease was sent (<see cref="TimeProvider.GetTimestamp"/>).</param>
    /// <param name="ttl">The TTL etcd granted.</param>
    public LeaseDeadline(TimeProvider time, long sentAt, TimeSpan ttl)
    {
        _time = time;
        _renewedAt = sentAt;
        _validFor = ttl - MarginFor(ttl);
    }

    /// <summary>
    /// What is kept back from the TTL: at least a second (clock rates, scheduling delays), a fifth of a
    /// long TTL; never more than half the TTL, so that a short TTL still leaves time to lead.
    /// </summary>
    public static TimeSpan MarginFor(TimeSpan ttl)
    {
        var margin = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, ttl.Ticks / 5));
        return margin > ttl / 2 ? ttl / 2 : margin;
    }

    /// <summary>etcd answered a keep-alive sent at <paramref name="sentAt"/> with this live TTL.</summary>
    public void Renewed(long sentAt, TimeSpan ttl)
    {
        lock (_gate)
        {
            // Answers may come back out of order after a reconnect: only a later send moves the deadline.
            if (sentAt >= _renewedAt)
            {
                _renewedAt = sentAt;
                _validFor = ttl - MarginFor(ttl);
            }
        }
    }

    /// <summary>Time left before the deadline; zero or less once it has passed.</summary>
    public TimeSpan Remaining
    {
        get
        {
            lock (_gate)
            {
                return _validFor - _time.GetElapsedTime(_renewedAt);
            }
        }
    }

    public bool HasPassed => Remaining <= TimeSpan.Zero;
}
