namespace Orchestrator.Scheduler.Domain;

internal enum NodeState
{
    Active = 1,
    Draining = 2,
    Inactive = 3,
}
