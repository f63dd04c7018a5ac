namespace Orchestrator.Scheduler.State;

/// <summary>Who decided a change: the scheduler (a call, a service pass, a lost node) or an agent's report of what happened.</summary>
internal enum ChangeOrigin
{
    Scheduler,
    AgentReport,
}
