using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

internal sealed class TaskSupervisorTests
{
    private const string TaskId = "0123456789abcdef0123456789abcdef";
    private static readonly AgentIdentity Identity = new("default", "node-1", "127.0.0.1");

    private FakeRuntime _runtime = null!;
    private RecordingSink _reports = null!;
    private FakeTimeProvider _clock = null!;
    private TaskSupervisor _supervisor = null!;

    [SetUp]
    public void Build()
    {
        _runtime = new FakeRuntime();
        _reports = new RecordingSink();
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        _supervisor = NewSupervisor();
    }

    private TaskSupervisor NewSupervisor() => new(_runtime, _reports, Identity, _clock, NullLogger<TaskSupervisor>.Instance);

    internal static StartTaskCommand Command(string taskId = TaskId, TaskStatus lastStatus = TaskStatus.Provisioning)
    {
        var definition = new TaskDefinition { Family = "web", Revision = 3, TaskDefinitionArn = "web:3" };
        definition.ContainerDefinitions.Add(new ContainerDefinition
        {
            Name = "app",
            Image = "busybox",
            Command = { "httpd", "-f" },
            Cpu = 256,
            Memory = 128,
            MemoryReservation = 64,
            StopTimeoutSeconds = 7,
            PortMappings = { new PortMapping { ContainerPort = 80 } },
            Environment = { new EnvironmentVariable { Name = "A", Value = "1" } },
            HealthCheck = new HealthCheck { Command = { "CMD-SHELL", "true" }, IntervalSeconds = 10 },
        });
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "sidecar", Image = "busybox", Memory = 32, Essential = false });
        var command = new StartTaskCommand { TaskId = taskId, Cluster = "default", TaskDefinition = definition, Group = "family:web", LastStatus = lastStatus };
        command.PortBindings.Add(new NetworkBinding { ContainerName = "app", ContainerPort = 80, HostPort = 49160 });
        return command;
    }

    [Test]
    public async Task A_task_starts_with_what_its_definition_asks_and_reports_pending_then_running()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);

        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app").Spec;
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Running }));
            Assert.That(_runtime.Containers.All(c => c.Running));
            Assert.That(app.Name, Is.EqualTo("orch-web-3-app-0123456789ab"));
            Assert.That((app.CpuShares, app.MemoryBytes, app.MemoryReservationBytes), Is.EqualTo((256, 128L << 20, 64L << 20)));
            Assert.That(app.Ports, Is.EqualTo(new[] { new PortSpec(80, 49160, false, "127.0.0.1") }));
            Assert.That(app.Environment, Is.EqualTo(new[] { "A=1" }));
            Assert.That(app.StopTimeoutSeconds, Is.EqualTo(7));
            Assert.That(app.HealthCheck!.Test, Is.EqualTo(new[] { "CMD-SHELL", "true" }));
            Assert.That(app.HealthCheck.Interval, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(app.Labels, Does.ContainKey(ContainerLabels.TaskId).WithValue(TaskId));
            Assert.That(app.Labels, Does.ContainKey(ContainerLabels.Node).WithValue("node-1"));
            Assert.That(app.Labels, Does.ContainKey(ContainerLabels.TaskDefinition).WithValue("web:3"));
            Assert.That(_reports.Last.Containers.Select(c => c.RuntimeId), Is.All.Not.Empty);
            Assert.That(_reports.Last.Containers[0].NetworkBindings.Single().BindIp, Is.EqualTo("127.0.0.1"));
        });
    }

    [Test]
    public async Task Stopping_everything_for_a_deregistered_node_stops_every_task_and_only_those_not_stopped_yet()
    {
        const string Second = "fedcba9876543210fedcba9876543210";
        const string Done = "00000000000000000000000000000001";
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        await _supervisor.StartAsync(Command(Second), CancellationToken.None);
        await _supervisor.StartAsync(Command(Done), CancellationToken.None);
        await _supervisor.StopAsync(Done, StopCode.UserInitiated, "earlier", CancellationToken.None);

        await _supervisor.StopAllAsync("node deregistered", CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_runtime.Containers.Where(c => c.Running), Is.Empty, "no container of any task runs");
            Assert.That((_reports.LastOf(TaskId)!.LastStatus, _reports.LastOf(TaskId)!.StopCode, _reports.LastOf(TaskId)!.StoppedReason),
                Is.EqualTo((TaskStatus.Stopped, StopCode.NodeLost, "node deregistered")));
            Assert.That(_reports.LastOf(Second)!.LastStatus, Is.EqualTo(TaskStatus.Stopped));
            Assert.That((_reports.LastOf(Done)!.StopCode, _reports.LastOf(Done)!.StoppedReason), Is.EqualTo((StopCode.UserInitiated, "earlier")),
                "a task that had stopped already keeps its own reason");
        });
    }

    [Test]
    public async Task The_same_start_command_twice_starts_the_task_once()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        Assert.That((_runtime.Creates, _runtime.Containers.Count), Is.EqualTo((2, 2)));
    }

    [Test]
    public async Task An_image_that_cannot_be_pulled_fails_the_task_and_leaves_nothing()
    {
        _runtime.MissingImages.Add("busybox");
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        AssertFailedToStart("CannotPullContainerError: pull access denied for busybox");
    }

    [Test]
    public async Task A_create_that_fails_removes_what_was_created()
    {
        _runtime.FailCreateFor.Add("sidecar");
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        AssertFailedToStart("CannotCreateContainerError: no such file for sidecar");
    }

    [Test]
    public async Task A_start_that_fails_removes_every_container_of_the_task()
    {
        _runtime.FailStartFor.Add("sidecar");
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        AssertFailedToStart("CannotStartContainerError: port is already allocated");
    }

    private void AssertFailedToStart(string reason)
    {
        var last = _reports.Last;
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Stopped }));
            Assert.That((last.StopCode, last.StoppedReason), Is.EqualTo((StopCode.TaskFailedToStart, reason)));
            Assert.That(last.Containers.Select(c => c.Reason), Is.All.EqualTo(reason));
            Assert.That(_runtime.Containers, Is.Empty, "nothing is left behind");
        });
    }

    [Test]
    public async Task An_essential_container_that_dies_stops_the_rest_with_its_exit_code()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        await _supervisor.OnEventAsync(_runtime.Die(app.Id, 3), CancellationToken.None);

        var last = _reports.Last;
        Assert.Multiple(() =>
        {
            Assert.That(last.LastStatus, Is.EqualTo(TaskStatus.Stopped));
            Assert.That((last.StopCode, last.StoppedReason), Is.EqualTo((StopCode.EssentialContainerExited, TaskSupervisor.EssentialExitedReason)));
            Assert.That(last.Containers.Single(c => c.Name == "app").ExitCode, Is.EqualTo(3));
            Assert.That(last.Containers.Single(c => c.Name == "sidecar").ExitCode, Is.EqualTo(143), "the sidecar was stopped");
            Assert.That(_runtime.Containers.Any(c => c.Running), Is.False);
        });
    }

    [Test]
    public async Task A_container_killed_for_memory_says_OOMKilled()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        await _supervisor.OnEventAsync(_runtime.Die(app.Id, 137, oom: true), CancellationToken.None);
        var container = _reports.Last.Containers.Single(c => c.Name == "app");
        Assert.That((container.ExitCode, container.Reason), Is.EqualTo((137, "OOMKilled")));
    }

    [Test]
    public async Task Health_changes_from_docker_are_reported()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        await _supervisor.OnEventAsync(new RuntimeEvent(RuntimeEventKind.HealthChanged, app.Id, app.Spec.Labels, null, ContainerHealth.Healthy), CancellationToken.None);
        var healthy = _reports.Last.Containers.Single(c => c.Name == "app").HealthStatus;
        await _supervisor.OnEventAsync(new RuntimeEvent(RuntimeEventKind.HealthChanged, app.Id, app.Spec.Labels, null, ContainerHealth.Unhealthy), CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(healthy, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(_reports.Last.Containers.Single(c => c.Name == "app").HealthStatus, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(_reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Running, TaskStatus.Running, TaskStatus.Running }));
        });
    }

    [Test]
    public async Task A_non_essential_container_that_dies_leaves_the_task_running()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        var sidecar = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "sidecar");
        await _supervisor.OnEventAsync(_runtime.Die(sidecar.Id, 0), CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Last.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(_reports.Last.Containers.Single(c => c.Name == "sidecar").LastStatus, Is.EqualTo(TaskStatus.Stopped));
        });
    }

    [Test]
    public async Task An_essential_container_that_exits_at_once_never_reports_running()
    {
        _runtime.ExitAtStart["app"] = 3;
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Stopped }));
            Assert.That(_reports.Last.StopCode, Is.EqualTo(StopCode.EssentialContainerExited));
            Assert.That(_reports.Last.Containers.Single(c => c.Name == "app").ExitCode, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task A_stop_sends_sigterm_with_the_stop_timeout_and_keeps_the_schedulers_code()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        await _supervisor.StopAsync(TaskId, StopCode.UserInitiated, "bye", CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Running, TaskStatus.Stopping, TaskStatus.Stopped }));
            Assert.That((_reports.Last.StopCode, _reports.Last.StoppedReason), Is.EqualTo((StopCode.UserInitiated, "bye")));
            Assert.That(_runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app").StopTimeout, Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(_runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "sidecar").StopTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)), "the default stop timeout");
        });
    }

    [Test]
    public async Task Stopped_containers_are_removed_after_the_retention()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        await _supervisor.StopAsync(TaskId, StopCode.UserInitiated, "bye", CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(59));
        await _supervisor.RemoveExpiredAsync(TimeSpan.FromHours(1), CancellationToken.None);
        var kept = _runtime.Containers.Count;
        _clock.Advance(TimeSpan.FromMinutes(2));
        await _supervisor.RemoveExpiredAsync(TimeSpan.FromHours(1), CancellationToken.None);
        Assert.That((kept, _runtime.Containers.Count, _supervisor.Count), Is.EqualTo((2, 0, 0)));
    }

    [Test]
    public async Task A_restarted_agent_adopts_running_containers_without_restarting_them()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        var ids = _runtime.Containers.Select(c => c.Id).Order().ToList();
        var creates = _runtime.Creates;

        var restarted = NewSupervisor();
        await restarted.AdoptAsync(CancellationToken.None);
        var report = restarted.CurrentReports().Single();
        Assert.Multiple(() =>
        {
            Assert.That(report.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(report.Containers.Select(c => c.RuntimeId).Order(), Is.EqualTo(ids));
            Assert.That(_runtime.Creates, Is.EqualTo(creates), "nothing created again");
            Assert.That(_runtime.Containers.All(c => c.Running), "nothing restarted or stopped");
        });
    }

    [Test]
    public async Task A_task_that_died_while_the_agent_was_away_is_finished_on_adoption()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        _runtime.Die(app.Id, 2);

        var restarted = NewSupervisor();
        await restarted.AdoptAsync(CancellationToken.None);
        var report = restarted.CurrentReports().Single();
        Assert.Multiple(() =>
        {
            Assert.That((report.LastStatus, report.StopCode), Is.EqualTo((TaskStatus.Stopped, StopCode.EssentialContainerExited)));
            Assert.That(report.Containers.Single(c => c.Name == "app").ExitCode, Is.EqualTo(2));
            Assert.That(_runtime.Containers.Any(c => c.Running), Is.False, "the sidecar was stopped");
        });
    }

    [Test]
    public async Task Reconciling_starts_new_tasks_reports_gone_ones_and_stops_the_rest()
    {
        const string kept = "11111111111111111111111111111111";
        const string unknown = "22222222222222222222222222222222";
        const string wantedStopped = "33333333333333333333333333333333";
        const string fresh = "44444444444444444444444444444444";
        const string gone = "55555555555555555555555555555555";
        await _supervisor.StartAsync(Command(kept), CancellationToken.None);
        await _supervisor.StartAsync(Command(unknown), CancellationToken.None);
        await _supervisor.StartAsync(Command(wantedStopped), CancellationToken.None);
        var restarted = NewSupervisor();
        await restarted.AdoptAsync(CancellationToken.None);
        _reports.Clear();

        var registered = new Registered
        {
            StartTasks = { Command(kept, TaskStatus.Running), Command(fresh, TaskStatus.Provisioning), Command(gone, TaskStatus.Running) },
            StopTasks = { new StopTaskCommand { TaskId = wantedStopped, StopCode = StopCode.UserInitiated, Reason = "asked while away" } },
        };
        await restarted.ReconcileAsync(registered, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_reports.LastOf(kept), Is.Null, "a task that runs as wanted is left alone");
            Assert.That(_reports.LastOf(fresh)!.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That((_reports.LastOf(gone)!.LastStatus, _reports.LastOf(gone)!.StoppedReason), Is.EqualTo((TaskStatus.Stopped, TaskSupervisor.ContainersGoneReason)));
            Assert.That((_reports.LastOf(wantedStopped)!.LastStatus, _reports.LastOf(wantedStopped)!.StopCode), Is.EqualTo((TaskStatus.Stopped, StopCode.UserInitiated)));
            Assert.That(_reports.LastOf(unknown)!.LastStatus, Is.EqualTo(TaskStatus.Stopped));
            Assert.That(_runtime.Containers.Where(c => c.Running).Select(c => c.Spec.Labels[ContainerLabels.TaskId]).Distinct(), Is.EquivalentTo(new[] { kept, fresh }));
        });
    }

    [Test]
    public async Task Stopping_a_task_the_agent_does_not_have_reports_it_stopped()
    {
        await _supervisor.StopAsync(TaskId, StopCode.UserInitiated, "", CancellationToken.None);
        Assert.That((_reports.Last.TaskId, _reports.Last.LastStatus), Is.EqualTo((TaskId, TaskStatus.Stopped)));
    }

    [Test]
    public async Task A_death_missed_while_docker_events_were_down_is_found_by_resync()
    {
        await _supervisor.StartAsync(Command(), CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        _runtime.Die(app.Id, 9); // no event delivered
        await _supervisor.ResyncAsync(CancellationToken.None);
        Assert.That((_reports.Last.LastStatus, _reports.Last.Containers.Single(c => c.Name == "app").ExitCode), Is.EqualTo((TaskStatus.Stopped, (int?)9)));
    }
}

internal sealed class RecordingSink : IReportSink
{
    private readonly List<TaskStateReport> _reports = [];

    public TaskStateReport Last
    {
        get { lock (_reports) return _reports[^1]; }
    }

    public void Report(TaskStateReport report)
    {
        lock (_reports)
        {
            _reports.Add(report);
        }
    }

    public TaskStatus[] Statuses()
    {
        lock (_reports) return [.. _reports.Select(r => r.LastStatus)];
    }

    public TaskStateReport? LastOf(string taskId)
    {
        lock (_reports) return _reports.LastOrDefault(r => r.TaskId == taskId);
    }

    public void Clear()
    {
        lock (_reports) _reports.Clear();
    }
}
