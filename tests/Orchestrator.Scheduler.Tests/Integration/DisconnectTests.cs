using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// disconnect.stopAfterSeconds on the scheduler's side, on the fake clock: a task whose agent fences it
/// is recorded lost at its last heartbeat plus stopAfter, its stop timeout and 5 s, however that
/// compares with Scheduler:NodeLostGrace (60 s); the other tasks of the node keep the grace.
/// </summary>
internal sealed class DisconnectTests : SchedulerTest
{
    private static RegisterTaskDefinitionRequest Fenced(string family, int stopAfter)
    {
        var request = WebDefinitionFor(family);
        request.ContainerDefinitions[0].StopTimeoutSeconds = 2;
        request.Disconnect = new Disconnect { StopAfterSeconds = stopAfter };
        return request;
    }

    private async Task<string> RunOnAsync(string family, SimulatedAgent agent)
    {
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = family })).Tasks.Single();
        await agent.NextCommandAsync();
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);
        return task.TaskId;
    }

    /// <summary>Moves the fake clock on one second at a time, letting the lost-node check run at each.</summary>
    private async Task SecondsAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
    }

    private async Task<TaskStatus> StatusAsync(string taskId) => (await DescribeAsync(taskId)).LastStatus;

    [Test]
    public async Task Each_task_is_recorded_lost_at_its_own_time_counted_from_the_last_heartbeat()
    {
        await RegisterAsync(Fenced("quick", 20));  // lost at 20 + 2 + 5 = 27 s after the last heartbeat
        await RegisterAsync(Fenced("patient", 120)); // 127 s: longer than the grace
        await RegisterAsync(WebDefinition("plain")); // the grace: 60 s after the disconnection
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var quick = await RunOnAsync("quick", agent);
        var patient = await RunOnAsync("patient", agent);
        var plain = await RunOnAsync("plain", agent);
        await agent.HeartbeatAsync();
        await SecondsAsync(2);
        await agent.DisposeAsync(); // the stream ends 2 s after the last heartbeat
        await EventuallyAsync(async () => !(await NodeAsync("n1")).AgentConnected, "n1 is disconnected");

        await SecondsAsync(24);
        var at26 = (await StatusAsync(quick), await StatusAsync(patient), await StatusAsync(plain));
        await SecondsAsync(2);
        var at28 = (await StatusAsync(quick), await StatusAsync(patient), await StatusAsync(plain));
        await SecondsAsync(34);
        var at62 = (await StatusAsync(quick), await StatusAsync(patient), await StatusAsync(plain));
        await SecondsAsync(64);
        var at126 = await StatusAsync(patient);
        await SecondsAsync(2);
        var lost = await DescribeAsync(quick);

        Assert.Multiple(async () =>
        {
            Assert.That(at26, Is.EqualTo((TaskStatus.Running, TaskStatus.Running, TaskStatus.Running)), "26 s after the last heartbeat");
            Assert.That(at28, Is.EqualTo((TaskStatus.Stopped, TaskStatus.Running, TaskStatus.Running)), "28 s: only the quick one, well within the grace");
            Assert.That(at62, Is.EqualTo((TaskStatus.Stopped, TaskStatus.Running, TaskStatus.Stopped)), "62 s: the plain one after the grace from the disconnection (60 s)");
            Assert.That(at126, Is.EqualTo(TaskStatus.Running), "the patient one outlasts the grace");
            Assert.That(await StatusAsync(patient), Is.EqualTo(TaskStatus.Stopped), "and is lost at 127 s");
            Assert.That(lost.StopCode, Is.EqualTo(StopCode.NodeLost));
            Assert.That(lost.StoppedReason, Does.Contain("disconnect.stopAfterSeconds = 20"));
        });
    }

    [Test]
    public async Task After_a_scheduler_restart_the_time_counts_from_its_start_as_the_last_heartbeat_is_not_known()
    {
        await RegisterAsync(Fenced("quick", 20));
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var task = await RunOnAsync("quick", agent);
        await agent.DisposeAsync();
        await SecondsAsync(20);
        RestartScheduler();

        await SecondsAsync(26);
        var beforeItsTime = await StatusAsync(task);
        await SecondsAsync(2);

        // The clock stands still at 28 s while this waits for the monitor's tick to have run (a loaded
        // machine can take longer than the 20 ms each second leaves it): the stop can only come from it.
        await EventuallyAsync(async () => await StatusAsync(task) == TaskStatus.Stopped, "the task is STOPPED 28 s after the start");
        Assert.That(beforeItsTime, Is.EqualTo(TaskStatus.Running), "26 s after the start (46 s after the agent left)");
    }
}
