using Google.Protobuf.WellKnownTypes;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Domain;

internal sealed class TaskReportsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    internal static TaskRecord NewTask(TaskState last = TaskState.Provisioning, TaskState desired = TaskState.Running) => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        Cluster = "default",
        TaskDefinitionArn = "web:1",
        Family = "web",
        Revision = 1,
        Node = "n1",
        LastStatus = last,
        DesiredStatus = desired,
        Containers = [new ContainerRecord("app", "busybox", true, last, [new PortBinding(80, 49153, Protocol.Tcp)])],
        Group = "family:web",
        Cpu = 256,
        Memory = 512,
        CreatedAt = Now.AddMinutes(-1),
    };

    private static TaskStateReport Report(TaskStatus status, int? exitCode = null, StopCode code = StopCode.Unspecified, string reason = "")
    {
        var container = new ContainerState { Name = "app", RuntimeId = "c0ffee", LastStatus = status, Reason = reason };
        container.NetworkBindings.Add(new NetworkBinding { ContainerName = "app", ContainerPort = 80, HostPort = 49153, Protocol = TransportProtocol.Tcp, BindIp = "127.0.0.1" });
        if (exitCode is { } e)
        {
            container.ExitCode = e;
        }

        return new TaskStateReport { TaskId = NewTask().Id, LastStatus = status, StopCode = code, StoppedReason = reason, Containers = { container }, ObservedAt = Timestamp.FromDateTimeOffset(Now) };
    }

    [Test]
    public void Running_report_starts_the_task_and_records_its_container()
    {
        var task = TaskReports.Apply(NewTask(), Report(TaskStatus.Running), Now)!;
        Assert.Multiple(() =>
        {
            Assert.That(task.LastStatus, Is.EqualTo(TaskState.Running));
            Assert.That(task.StartedAt, Is.EqualTo(Now));
            Assert.That(task.Version, Is.EqualTo(2));
            Assert.That(task.Containers[0].RuntimeId, Is.EqualTo("c0ffee"));
            Assert.That(task.Containers[0].Bindings[0].BindIp, Is.EqualTo("127.0.0.1"));
        });
    }

    [Test]
    public void The_same_report_twice_changes_nothing_the_second_time()
    {
        var once = TaskReports.Apply(NewTask(), Report(TaskStatus.Running), Now)!;
        Assert.That(TaskReports.Apply(once, Report(TaskStatus.Running), Now.AddSeconds(5)), Is.Null);
    }

    [Test]
    public void A_late_older_report_changes_nothing()
    {
        var stopped = TaskReports.Apply(NewTask(TaskState.Running), Report(TaskStatus.Stopped, exitCode: 0), Now)!;
        var running = TaskReports.Apply(NewTask(TaskState.Stopping), Report(TaskStatus.Running), Now);
        Assert.Multiple(() =>
        {
            Assert.That(TaskReports.Apply(stopped, Report(TaskStatus.Running), Now), Is.Null);
            Assert.That(running, Is.Null);
        });
    }

    [Test]
    public void Essential_container_exit_stops_the_task_with_the_agents_code_and_exit_code()
    {
        var task = TaskReports.Apply(NewTask(TaskState.Running), Report(TaskStatus.Stopped, 3, StopCode.EssentialContainerExited, "Essential container in task exited"), Now)!;
        Assert.Multiple(() =>
        {
            Assert.That(task.LastStatus, Is.EqualTo(TaskState.Stopped));
            Assert.That(task.DesiredStatus, Is.EqualTo(TaskState.Stopped));
            Assert.That(task.StopCode, Is.EqualTo(TaskStopCode.EssentialContainerExited));
            Assert.That(task.StoppedReason, Is.EqualTo("Essential container in task exited"));
            Assert.That(task.Containers[0].ExitCode, Is.EqualTo(3));
            Assert.That(task.StoppedAt, Is.EqualTo(Now));
        });
    }

    [Test]
    public void A_stop_the_user_asked_for_keeps_its_code_and_reason()
    {
        var asked = NewTask(TaskState.Running, TaskState.Stopped) with { StopCode = TaskStopCode.UserInitiated, StoppedReason = "bye" };
        var task = TaskReports.Apply(asked, Report(TaskStatus.Stopped, 143, StopCode.EssentialContainerExited, "exited"), Now)!;
        Assert.That((task.StopCode, task.StoppedReason, task.Containers[0].ExitCode), Is.EqualTo((TaskStopCode.UserInitiated, "bye", (int?)143)));
    }

    [Test]
    public void Health_changes_while_running_are_applied()
    {
        var running = TaskReports.Apply(NewTask(), Report(TaskStatus.Running), Now)!;
        var report = Report(TaskStatus.Running);
        report.Containers[0].HealthStatus = HealthStatus.Healthy;
        var healthy = TaskReports.Apply(running, report, Now)!;
        Assert.That((healthy.Health, healthy.Version), Is.EqualTo((HealthState.Healthy, running.Version + 1)));
    }

    [Test]
    public void A_restart_in_place_while_running_is_a_change_and_a_resent_older_report_does_not_undo_it()
    {
        var running = TaskReports.Apply(NewTask(), Report(TaskStatus.Running), Now)!;
        var report = Report(TaskStatus.Running);
        report.Containers[0].RestartCount = 2;
        var restarted = TaskReports.Apply(running, report, Now)!;
        var older = TaskReports.Apply(restarted, Report(TaskStatus.Running), Now);
        Assert.Multiple(() =>
        {
            Assert.That((restarted.LastStatus, restarted.Containers[0].RestartCount, restarted.Version), Is.EqualTo((TaskState.Running, 2, running.Version + 1)));
            Assert.That(older, Is.Null, "a count of 0 from before the restarts changes nothing");
        });
    }
}
