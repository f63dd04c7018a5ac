namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// Hands out one seed per placement call from a base seed, so that a run with a configured seed
/// repeats exactly and no code reaches for a shared random generator.
/// </summary>
internal sealed class PlacementSeeds(ulong baseSeed)
{
    private long _calls;

    public ulong Next() => SeededHash.Mix(baseSeed, (int)(Interlocked.Increment(ref _calls) >> 31), (int)_calls);
}
