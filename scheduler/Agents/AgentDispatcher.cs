using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Agents;

/// <summary>What a node's agent must be told about one task change.</summary>
internal enum AgentCommand
{
    None,
    Start,
    Stop,
}

/// <summary>Where the dispatcher finds a node's open stream, a task's definition and its secrets.</summary>
internal interface IAgentDirectory
{
    IAgentSession? SessionOf(string cluster, string node);

    TaskDefinitionEntry DefinitionOf(TaskRecord task);

    /// <summary>Where start commands get the values of their tasks' secrets.</summary>
    ISecretValues Secrets { get; }
}

/// <summary>
/// Sends start and stop commands to agents from the applied task changes, so that no writer of the
/// state calls a session itself. What to send is a pure function of the change (<see cref="CommandFor"/>);
/// a node without a stream gets nothing, and is told what to run and stop when it registers again.
/// It subscribes to the change feed (swarmkit's dispatcher takes its assignments from a watch), so it
/// sees each task change once, after it is stored and applied, in commit order.
/// </summary>
internal sealed class AgentDispatcher(IAgentDirectory directory) : IChangeSubscriber
{
    /// <summary>
    /// A new task the scheduler placed is started; a task the scheduler decided to stop (desired RUNNING
    /// to STOPPED) is stopped, unless it was already STOPPED or its stop is held while its targets drain
    /// (<see cref="TaskRecord.DrainUntil"/> set): then the stop goes once the hold is released (DrainUntil
    /// cleared on a task still not STOPPED). What an agent reported needs no command.
    /// </summary>
    public static AgentCommand CommandFor(TaskRecord? previous, TaskRecord current, ChangeOrigin origin)
    {
        if (origin != ChangeOrigin.Scheduler)
        {
            return AgentCommand.None;
        }

        if (previous is null)
        {
            return current is { DesiredStatus: TaskState.Running, LastStatus: TaskState.Provisioning } ? AgentCommand.Start : AgentCommand.None;
        }

        if (current.DesiredStatus != TaskState.Stopped || previous.LastStatus == TaskState.Stopped || current.DrainUntil is not null)
        {
            return AgentCommand.None;
        }

        var stopAsked = previous.DesiredStatus == TaskState.Running;
        var released = previous.DrainUntil is not null; // recorded STOPPED meanwhile too: it was never told
        return stopAsked || released ? AgentCommand.Stop : AgentCommand.None;
    }

    public void OnApplied(AppliedChanges applied)
    {
        foreach (var (previous, current) in applied.Tasks)
        {
            OnTaskChanged(previous, current, applied.Origin);
        }
    }

    private void OnTaskChanged(TaskRecord? previous, TaskRecord current, ChangeOrigin origin)
    {
        var command = CommandFor(previous, current, origin);
        if (command == AgentCommand.None || directory.SessionOf(current.Cluster, current.Node) is not { } session)
        {
            return;
        }

        session.TrySend(command == AgentCommand.Start
            ? AgentCommands.Start(current, directory.DefinitionOf(current), directory.Secrets)
            : AgentCommands.Stop(current.Id, current.StopCode, current.StoppedReason));
    }
}
