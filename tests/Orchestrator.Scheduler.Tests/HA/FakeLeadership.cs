using Orchestrator.Scheduler.HA;

namespace Orchestrator.Scheduler.Tests.HA;

/// <summary>A leadership the test sets: leader or standby, and which leader (if any) a standby knows of.</summary>
internal sealed class FakeLeadership : ILeadership
{
    private readonly TaskCompletionSource _elected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _deposed = new();

    public bool IsLeader { get; set; }

    public string? LeaderAddress { get; set; }

    public string? NotLeaderReason { get; set; } = "a standby (set by the test)";

    public Task Elected => _elected.Task;

    public CancellationToken Deposed => _deposed.Token;
}
