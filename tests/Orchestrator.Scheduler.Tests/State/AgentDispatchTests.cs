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

        // Draining: the stop waits until the hold is released.
        var until = stopping.CreatedAt.AddSeconds(30);
        var draining = stopping with { DrainUntil = until };
        var released = draining with { DrainUntil = null, Version = draining.Version + 1 };
        yield return Case("a task asked to stop while its targets drain is not stopped yet", running, draining, ChangeOrigin.Scheduler, AgentCommand.None);
        yield return Case("a draining task's report of RUNNING sends nothing", draining, draining with { Version = draining.Version + 1 }, ChangeOrigin.AgentReport, AgentCommand.None);
        yield return Case("a draining task changed otherwise (tags) is still held", draining, draining with { Version = draining.Version + 1 }, ChangeOrigin.Scheduler, AgentCommand.None);
        yield return Case("a released drain sends the stop", draining, released, ChangeOrigin.Scheduler, AgentCommand.Stop);
        yield return Case("a released drain of a task desired RUNNING sends nothing", draining with { DesiredStatus = TaskState.Running }, released with { DesiredStatus = TaskState.Running }, ChangeOrigin.Scheduler, AgentCommand.None);
        yield return Case("a drain released after the task STOPPED sends nothing", draining with { LastStatus = TaskState.Stopped }, released with { LastStatus = TaskState.Stopped }, ChangeOrigin.Scheduler, AgentCommand.None);
        yield return Case("a task recorded STOPPED while draining (its stop never sent) is stopped", draining, released with { LastStatus = TaskState.Stopped }, ChangeOrigin.Scheduler, AgentCommand.Stop);
        yield return Case("a drain released by an agent's report sends nothing", draining, released, ChangeOrigin.AgentReport, AgentCommand.None);
        yield return Case("a released task asked to stop again sends nothing", released, released with { Version = released.Version + 1 }, ChangeOrigin.Scheduler, AgentCommand.None);
    }

    [TestCaseSource(nameof(Changes))]
    public AgentCommand The_command_for_a_change(TaskRecord? previous, TaskRecord current, ChangeOrigin origin) =>
        AgentDispatcher.CommandFor(previous, current, origin);
}
