namespace Orchestrator.Scheduler.Storage;

/// <summary>The most one commit may hold: puts and deletes, and bytes (records, keys and their framing).</summary>
internal sealed record StoreLimits(int MaxChanges, int MaxBytes)
{
    public static readonly StoreLimits None = new(int.MaxValue, int.MaxValue);

    public bool IsNone => this == None;
}
