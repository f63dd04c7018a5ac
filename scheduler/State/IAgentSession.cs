using Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>One open agent stream, as the state sees it: a way to send commands down.</summary>
internal interface IAgentSession
{
    long Id { get; }

    /// <summary>Queues a message for the agent; never blocks. False when the stream is gone.</summary>
    bool TrySend(SchedulerMessage message);

    /// <summary>Ends the stream (the node was deregistered, or a newer stream replaced this one).</summary>
    void Close();

    /// <summary>
    /// Cancelled once the stream is over, however it ended (closed here, or the agent went): the task
    /// sessions opened through it end with it, since the node they were opened for has no agent now.
    /// </summary>
    CancellationToken Closed { get; }
}
