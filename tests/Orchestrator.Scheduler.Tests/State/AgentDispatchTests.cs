using Orchestrator.Scheduler.Agents;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Tests.Domain;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>Which task changes send a command to the task's agent: a pure table.</summary>
internal sealed class AgentDispatchTests
{
    private static readonly TaskRecord Placed = TaskReportsTests.NewTask(TaskState.Provisioning, TaskState.Running);

    private static IEnumerable<TestCaseData> Changes()
    {
        TestCaseData Case(string name, TaskRecord? previous, TaskRecord current, ChangeOrigin origin, AgentCommand command) =>
            new TestCaseData(previous, current, origin).Returns(command).SetName(name);

        var running = Placed with { LastStatus = TaskState.Running };
        var stopping = running with { DesiredStatus = TaskState.Stopped, StopCode = TaskStopCode.UserInitiated };
        var stoppedByReport = running with { LastStatus = TaskState.Stopped, DesiredStatus = TaskState.Stopped };
        yield return Case("a new task placed by the scheduler is started", null, Placed, ChangeOrigin.Scheduler, AgentCommand.Start);
        yield return Case("a task the scheduler stops is stopped", running, stopping, ChangeOrigin.Scheduler, AgentCommand.Stop);
        yield return Case("a task recorded STOPPED while its agent may still run it (deregistered) is stopped", running, stoppedByReport, ChangeOrigin.Scheduler, AgentCommand.Stop);
        yield return Case("a task an agent reports STOPPED needs no command", running, stoppedByReport, ChangeOrigin.AgentReport, AgentCommand.None);
        yield return Case("a report of RUNNING needs no command", Placed, running, ChangeOrigin.AgentReport, AgentCommand.None);
        yield return Case("a stop asked again changes nothing", stopping, stopping with { Version = stopping.Version + 1 }, ChangeOrigin.Scheduler, AgentCommand.None);
        yield return Case("a task already STOPPED is not stopped again", stoppedByReport with { DesiredStatus = TaskState.Running }, stoppedByReport, ChangeOrigin.Scheduler, AgentCommand.None);
        yield return Case("a loaded task that is already running is not started", null, running, ChangeOrigin.Scheduler, AgentCommand.None);
        yield return Case("a tag change on a running task sends nothing", running, running with { Version = running.Version + 1 }, ChangeOrigin.Scheduler, AgentCommand.None);
    }

    [TestCaseSource(nameof(Changes))]
    public AgentCommand The_command_for_a_change(TaskRecord? previous, TaskRecord current, ChangeOrigin origin) =>
        AgentDispatcher.CommandFor(previous, current, origin);
}
