using Orchestrator.Contracts.V1;
using static Orchestrator.Agent.Tests.SupervisorHarness;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

/// <summary>Restart policies: the same container started again in place, counted and reported.</summary>
internal sealed class RestartPolicyTests
{
    private SupervisorHarness _h = null!;

    [SetUp]
    public void Build() => _h = new SupervisorHarness();

    private static ContainerDefinition Worker(bool essential = false, bool enabled = true, int period = 60, params int[] ignored)
    {
        var worker = Container("worker", essential);
        worker.RestartPolicy = new RestartPolicy { Enabled = enabled, RestartAttemptPeriodSeconds = period, IgnoredExitCodes = { ignored } };
        return worker;
    }

    [Test]
    public async Task A_container_that_exits_after_its_attempt_period_is_started_again_in_place_and_the_restart_is_reported()
    {
        await _h.StartAsync(Command(Container("app"), Worker()));
        var id = _h.Named("worker").Id;
        _h.Clock.Advance(TimeSpan.FromSeconds(61));
        await _h.DieAsync("worker", 3);

        var worker = _h.LastOf("worker");
        Assert.Multiple(() =>
        {
            Assert.That((_h.Named("worker").Id, _h.Named("worker").StartCount, _h.Named("worker").Running), Is.EqualTo((id, 2, true)), "the same container, started again");
            Assert.That(_h.Runtime.Creates, Is.EqualTo(2), "nothing created");
            Assert.That((worker.RestartCount, worker.LastStatus, worker.RuntimeId, worker.HasExitCode), Is.EqualTo((1, TaskStatus.Running, id, false)));
            Assert.That(_h.Status, Is.EqualTo(TaskStatus.Running), "the task was not replaced");
        });
    }

    [Test]
    public async Task Each_restart_needs_another_full_attempt_period_so_the_second_quick_exit_ends_it()
    {
        await _h.StartAsync(Command(Container("app"), Worker()));
        _h.Clock.Advance(TimeSpan.FromSeconds(60));
        await _h.DieAsync("worker", 1);
        _h.Clock.Advance(TimeSpan.FromSeconds(59));
        await _h.DieAsync("worker", 1);

        Assert.Multiple(() =>
        {
            Assert.That(_h.Named("worker").StartCount, Is.EqualTo(2));
            Assert.That((_h.LastOf("worker").RestartCount, _h.LastOf("worker").LastStatus, _h.LastOf("worker").ExitCode), Is.EqualTo((1, TaskStatus.Stopped, 1)));
            Assert.That(_h.Status, Is.EqualTo(TaskStatus.Running), "a non-essential container's exit leaves the task running");
        });
    }

    /// <summary>(essential, policy enabled, ignored codes, seconds it ran, exit code) → restarted?, task status.</summary>
    [TestCase(false, true, new int[0], 300, 0, true, TaskStatus.Running, TestName = "Non-essential, exit 0 after the period: restarted")]
    [TestCase(false, true, new[] { 0, 3 }, 300, 3, false, TaskStatus.Running, TestName = "An ignored exit code: not restarted")]
    [TestCase(false, true, new int[0], 59, 1, false, TaskStatus.Running, TestName = "Ran less than the attempt period: not restarted")]
    [TestCase(false, false, new int[0], 300, 1, false, TaskStatus.Running, TestName = "A disabled policy: not restarted")]
    [TestCase(true, true, new int[0], 300, 1, true, TaskStatus.Running, TestName = "Essential with a policy: restarted instead of stopping the task")]
    [TestCase(true, true, new[] { 1 }, 300, 1, false, TaskStatus.Stopped, TestName = "Essential, ignored exit code: the task stops as without a policy")]
    [TestCase(true, true, new int[0], 10, 1, false, TaskStatus.Stopped, TestName = "Essential, too soon: the task stops as without a policy")]
    public async Task Whether_an_exited_container_is_restarted(bool essential, bool enabled, int[] ignored, int ranSeconds, int exitCode, bool restarted, TaskStatus taskStatus)
    {
        await _h.StartAsync(Command(Container("app"), Worker(essential, enabled, 60, ignored)));
        _h.Clock.Advance(TimeSpan.FromSeconds(ranSeconds));
        await _h.DieAsync("worker", exitCode);

        Assert.Multiple(() =>
        {
            Assert.That(_h.Named("worker").StartCount, Is.EqualTo(restarted ? 2 : 1));
            Assert.That(_h.LastOf("worker").RestartCount, Is.EqualTo(restarted ? 1 : 0));
            Assert.That(_h.Status, Is.EqualTo(taskStatus));
            if (taskStatus == TaskStatus.Stopped)
            {
                Assert.That(_h.Last.StopCode, Is.EqualTo(StopCode.EssentialContainerExited));
            }
        });
    }

    [Test]
    public async Task A_task_being_stopped_never_restarts_its_containers()
    {
        await _h.StartAsync(Command(Container("app"), Worker(essential: true)));
        _h.Clock.Advance(TimeSpan.FromMinutes(10));
        await _h.Supervisor.StopAsync(TaskId, StopCode.UserInitiated, "bye", CancellationToken.None);
        // Docker's die event of the stop arrives after it.
        await _h.Supervisor.OnEventAsync(_h.Runtime.Die(_h.Named("worker").Id, 143), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_h.Named("worker").StartCount, Is.EqualTo(1));
            Assert.That((_h.Status, _h.LastOf("worker").RestartCount), Is.EqualTo((TaskStatus.Stopped, 0)));
        });
    }

    [Test]
    public async Task Containers_stopped_because_an_essential_one_exited_are_not_restarted()
    {
        await _h.StartAsync(Command(Container("app"), Worker()));
        _h.Clock.Advance(TimeSpan.FromMinutes(10));
        await _h.DieAsync("app", 1);
        await _h.Supervisor.OnEventAsync(_h.Runtime.Die(_h.Named("worker").Id, 143), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_h.Named("worker").StartCount, Is.EqualTo(1));
            Assert.That((_h.Status, _h.Last.StopCode), Is.EqualTo((TaskStatus.Stopped, StopCode.EssentialContainerExited)));
        });
    }

    [TestCase(false, TaskStatus.Running)]
    [TestCase(true, TaskStatus.Stopped)]
    public async Task A_restart_that_fails_is_an_exit_for_good(bool essential, TaskStatus taskStatus)
    {
        await _h.StartAsync(Command(Container("app"), Worker(essential)));
        _h.Clock.Advance(TimeSpan.FromMinutes(10));
        _h.Runtime.FailStartFor.Add("worker");
        await _h.DieAsync("worker", 1);

        Assert.Multiple(() =>
        {
            Assert.That((_h.LastOf("worker").LastStatus, _h.LastOf("worker").ExitCode, _h.LastOf("worker").RestartCount), Is.EqualTo((TaskStatus.Stopped, 1, 0)));
            Assert.That(_h.LastOf("worker").Reason, Is.EqualTo("restart failed: CannotStartContainerError: port is already allocated"));
            Assert.That(_h.Status, Is.EqualTo(taskStatus));
        });
    }

    [Test]
    public async Task A_late_death_event_of_a_run_that_was_already_restarted_changes_nothing()
    {
        await _h.StartAsync(Command(Container("app"), Worker()));
        _h.Clock.Advance(TimeSpan.FromMinutes(10));
        var death = _h.Runtime.Die(_h.Named("worker").Id, 1);
        await _h.Supervisor.OnEventAsync(death, CancellationToken.None);
        var reports = _h.Reports.Statuses().Length;
        await _h.Supervisor.OnEventAsync(death, CancellationToken.None); // ResyncAsync's and Docker's, for one exit

        Assert.Multiple(() =>
        {
            Assert.That((_h.Named("worker").StartCount, _h.LastOf("worker").RestartCount, _h.LastOf("worker").LastStatus), Is.EqualTo((2, 1, TaskStatus.Running)));
            Assert.That(_h.Reports.Statuses(), Has.Length.EqualTo(reports));
        });
    }

    [Test]
    public async Task A_restarted_agent_applies_the_restart_policy_again_once_the_scheduler_sends_the_definition()
    {
        var command = Command(Container("app"), Worker());
        await _h.StartAsync(command);
        var restarted = _h.RestartAgent();
        var sweeps = _h.Runtime.LeftoverSweeps;
        await restarted.AdoptAsync(CancellationToken.None);
        Assert.That(_h.Runtime.LeftoverSweeps, Is.EqualTo(sweeps + 1), "adoption ends with the runtime's sweep of what a crash left");
        var again = command.Clone();
        again.LastStatus = TaskStatus.Running;
        _h.Reports.Clear();
        await restarted.ReconcileAsync(new Registered { StartTasks = { again } }, CancellationToken.None);
        var reports = _h.Reports.Statuses().Length;

        _h.Clock.Advance(TimeSpan.FromMinutes(10));
        await _h.DieAsync("worker", 1);

        Assert.Multiple(() =>
        {
            Assert.That(reports, Is.Zero, "a running task the scheduler wants is not reported again on reconcile");
            Assert.That((_h.Named("worker").StartCount, _h.LastOf("worker").RestartCount), Is.EqualTo((2, 1)));
        });
    }
}
