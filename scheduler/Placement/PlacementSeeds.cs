namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Hands out one seed per placement call from a base seed, so that a run with a configured seed
/// repeats exactly and no code reaches for a shared random generator.
/// </summary>
internal sealed class PlacementSeeds(ulong baseSeed)
{
    private long _calls;

    public ulong Next()
    {
        // One read of the counter: two reads could see another caller's increment in between.
        var call = Interlocked.Increment(ref _calls);
        return SeededHash.Mix(baseSeed, (int)(call >> 32), (int)call);
    }
}
