using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>Who decided a change: the scheduler (a call, a service pass, a lost node) or an agent's report of what happened.</summary>
internal enum ChangeOrigin
{
    Scheduler,
    AgentReport,
}

/// <summary>
/// Told of every task change once it is stored and applied to memory, in commit order, under the
/// state's lock: it must only hand work on (queue, send on a channel), never wait or call back in.
/// A subscriber of the change feed (<see cref="ChangeFeed.Subscribe(ITaskChangeSubscriber)"/>) that
/// needs nothing of a commit but its task changes.
/// </summary>
internal interface ITaskChangeSubscriber
{
    /// <param name="previous">The task before the change; null for a new task.</param>
    void OnTaskChanged(TaskRecord? previous, TaskRecord current, ChangeOrigin origin);
}
