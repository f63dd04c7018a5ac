using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// A task definition's disconnect.stopAfterSeconds, with what the scheduler needs to honour it: its
/// agent stops such a task once it has had no acknowledged heartbeat for <see cref="StopAfter"/>, and
/// its containers are gone at most <see cref="LongestStopTimeout"/> later (SIGTERM, then SIGKILL).
/// </summary>
internal sealed record DisconnectPolicy(TimeSpan StopAfter, TimeSpan LongestStopTimeout)
{
    /// <summary>The agent's stop is itself not instant (the Docker calls, a slow engine): 5 s on top.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

    /// <summary>Docker's and the agent's default when a container sets no stopTimeout.</summary>
    private const int DefaultStopTimeoutSeconds = 30;

    /// <summary>
    /// How long after the node's last heartbeat the scheduler may count the task gone and replace it.
    /// The agent counts from when it sent the last heartbeat the scheduler acknowledged, which is
    /// before the scheduler received it, so its fence always goes off first.
    /// </summary>
    public TimeSpan Grace => StopAfter + LongestStopTimeout + Margin;

    public static DisconnectPolicy? Of(Contract.TaskDefinition spec)
    {
        if (spec.Disconnect is not { StopAfterSeconds: > 0 } disconnect)
        {
            return null;
        }

        var longest = spec.ContainerDefinitions.Max(c => c.StopTimeoutSeconds > 0 ? c.StopTimeoutSeconds : DefaultStopTimeoutSeconds);
        return new DisconnectPolicy(TimeSpan.FromSeconds(disconnect.StopAfterSeconds), TimeSpan.FromSeconds(longest));
    }
}
