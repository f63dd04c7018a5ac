namespace Orchestrator.Scheduler.State;

/// <summary>Who decided a change: the scheduler (a call, a service pass, a lost node) an agent's report of what happened, or, on a standby, the leader (replicated).</summary>
internal enum ChangeOrigin
{
    Scheduler,
    AgentReport,

    /// <summary>A standby applying the leader's commit, read from the store's watch: nothing is sent to agents for it.</summary>
    Replicated,
}
