namespace Orchestrator.Balancer.Connection;

/// <summary>Capped exponential backoff with full jitter, as the agent's.</summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan cap, Random random)
{
    private int _attempt;

    public TimeSpan Next()
    {
        var ceiling = Math.Min(cap.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt, 30)));
        _attempt++;
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (random.NextDouble() / 2)));
    }

    public void Reset() => _attempt = 0;
}
