namespace Orchestrator.Scheduler.HA;

/// <summary>The one scheduler of a LiteDB store: always the leader, never deposed.</summary>
internal sealed class SoleLeadership(string address) : ILeadership
{
    public bool IsLeader => true;

    public string? LeaderAddress => address;

    public string? NotLeaderReason => null;

    public Task Elected => Task.CompletedTask;

    public CancellationToken Deposed => CancellationToken.None;
}
