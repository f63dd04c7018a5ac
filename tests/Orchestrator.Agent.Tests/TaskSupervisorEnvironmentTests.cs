using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

/// <summary>The supervisor with a task's volumes, network and secret files: made before its containers, gone when they are.</summary>
internal sealed class TaskSupervisorEnvironmentTests
{
    private const string TaskId = "0123456789abcdef0123456789abcdef";

    private string _directory = null!;
    private FakeRuntime _runtime = null!;
    private RecordingSink _reports = null!;
    private FakeTimeProvider _clock = null!;
    private AgentIdentity _identity = null!;

    private string SecretsRoot => Path.Combine(_directory, "secrets");

    /// <summary>Where node-1's agent puts its secret files.</summary>
    private string Secrets => Path.Combine(SecretsRoot, "node-1");

    [SetUp]
    public void Build()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-supervisor-").FullName;
        _runtime = new FakeRuntime();
        _reports = new RecordingSink();
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        _identity = new AgentIdentity("default", "node-1", "127.0.0.1") { Workload = new WorkloadSettings { AllowedHostPaths = [_directory], SecretsDirectory = SecretsRoot } };
    }

    [TearDown]
    public void Clean() => Directory.Delete(_directory, recursive: true);

    private TaskSupervisor Supervisor() => new(_runtime, _reports, _identity, _clock, NullLogger<TaskSupervisor>.Instance);

    /// <summary>An awsvpc task of two containers with a task volume, a shared one, a secret variable and a secret file.</summary>
    private static StartTaskCommand Command(string taskId = TaskId)
    {
        var command = TaskEnvironmentTests.Command(taskId, (t, c) =>
        {
            t.NetworkMode = "awsvpc";
            t.Volumes.Add(new Volume { Name = "scratch" });
            t.Volumes.Add(new Volume { Name = "pg", DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared", Autoprovision = true } });
            c.MountPoints.Add(new MountPoint { SourceVolume = "scratch", ContainerPath = "/scratch" });
            c.MountPoints.Add(new MountPoint { SourceVolume = "pg", ContainerPath = "/pg" });
            c.Secrets.Add(new Secret { Name = "PASSWORD", ValueFrom = "db-password" });
            c.Secrets.Add(new Secret { Name = "key", ValueFrom = "tls", AsFile = true });
        });
        command.SecretValues["db-password"] = ByteString.CopyFromUtf8("hunter2");
        command.SecretValues["tls"] = ByteString.CopyFromUtf8("-----BEGIN KEY-----");
        return command;
    }

    private void AssertNothingLeft()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_runtime.Containers, Is.Empty, "no container");
            Assert.That(_runtime.Volumes.Keys, Is.All.EqualTo("pg"), "no task volume (the shared one may stay)");
            Assert.That(_runtime.Networks, Is.Empty, "no network");
            Assert.That(Directory.Exists(Path.Combine(Secrets, TaskId)), Is.False, "no secret file");
        });
    }

    [Test]
    public async Task A_task_runs_with_its_volumes_network_and_secrets_made_before_its_containers()
    {
        await Supervisor().StartAsync(Command(), CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app").Spec;
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Last.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(_runtime.Volumes.Keys, Is.EquivalentTo(new[] { "orch-0123456789ab-scratch", "pg" }));
            Assert.That(_runtime.Networks.Keys, Is.EqualTo(new[] { "orch-0123456789ab" }));
            Assert.That(app.Options.Mounts.Select(m => m.Source), Is.EqualTo(new[] { "orch-0123456789ab-scratch", "pg", Path.Combine(Secrets, TaskId, "app") }));
            Assert.That(app.Options.SecretEnvironment, Is.EqualTo(new[] { new SecretVariable("PASSWORD", "hunter2") }));
            Assert.That(File.ReadAllText(Path.Combine(Secrets, TaskId, "app", "key")), Is.EqualTo("-----BEGIN KEY-----"));
            Assert.That(_reports.Last.ToString(), Does.Not.Contain("hunter2").And.Not.Contain("BEGIN KEY"), "no value in a report");
        });
    }

    [Test]
    public async Task A_stopped_tasks_network_and_secret_files_go_at_once_and_its_volumes_with_its_containers_after_the_retention()
    {
        var supervisor = Supervisor();
        await supervisor.StartAsync(Command(), CancellationToken.None);
        await supervisor.StopAsync(TaskId, StopCode.UserInitiated, "bye", CancellationToken.None);
        var keptWhileStopped = (_runtime.Containers.Count, _runtime.Volumes.Count, _runtime.Networks.Count, Directory.Exists(Path.Combine(Secrets, TaskId)));
        _clock.Advance(TimeSpan.FromHours(2));
        await supervisor.RemoveExpiredAsync(TimeSpan.FromHours(1), CancellationToken.None);

        Assert.That(keptWhileStopped, Is.EqualTo((2, 2, 0, false)), "containers and volumes kept for inspection; no network, no secret file");
        AssertNothingLeft();
    }

    [Test]
    public async Task A_task_stopped_because_its_essential_container_exited_releases_its_network_and_secret_files_at_once()
    {
        var supervisor = Supervisor();
        await supervisor.StartAsync(Command(), CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        await supervisor.OnEventAsync(_runtime.Die(app.Id, 1), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_reports.Last.LastStatus, Is.EqualTo(TaskStatus.Stopped));
            Assert.That((_runtime.Networks.Count, Directory.Exists(Path.Combine(Secrets, TaskId))), Is.EqualTo((0, false)));
            Assert.That(_runtime.Volumes.Keys, Is.EquivalentTo(new[] { "orch-0123456789ab-scratch", "pg" }), "volumes stay with the containers");
        });
    }

    [Test]
    public async Task A_volume_driver_that_is_missing_fails_the_start_with_the_engines_message_and_leaves_nothing()
    {
        _runtime.MissingVolumeDrivers.Add("rexray");
        var command = Command();
        command.TaskDefinition.Volumes.Add(new Volume { Name = "ebs", DockerVolumeConfiguration = new DockerVolumeConfiguration { Driver = "rexray" } });
        await Supervisor().StartAsync(command, CancellationToken.None);

        Assert.That((_reports.Last.StopCode, _reports.Last.StoppedReason),
            Is.EqualTo((StopCode.TaskFailedToStart, "CannotCreateVolumeError: error looking up volume plugin rexray: plugin \"rexray\" not found")));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_container_the_engine_refuses_fails_the_start_and_leaves_no_volume_network_or_secret_file()
    {
        _runtime.FailCreateFor.Add("side");
        await Supervisor().StartAsync(Command(), CancellationToken.None);
        Assert.That((_reports.Last.StopCode, _reports.Last.StoppedReason), Is.EqualTo((StopCode.TaskFailedToStart, "CannotCreateContainerError: no such file for side")));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_privileged_container_on_a_node_that_does_not_allow_it_fails_to_start_naming_the_setting()
    {
        var command = Command();
        command.TaskDefinition.ContainerDefinitions[1].Privileged = true;
        await Supervisor().StartAsync(command, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Stopped }));
            Assert.That((_reports.Last.StopCode, _reports.Last.StoppedReason),
                Is.EqualTo((StopCode.TaskFailedToStart, "container \"side\" is privileged, which this node does not allow (Agent:AllowPrivileged is false)")));
            Assert.That(_runtime.Creates, Is.Zero);
        });
        AssertNothingLeft();
    }

    [Test]
    public async Task A_task_with_docker_only_features_on_containerd_fails_to_start_in_the_schedulers_words()
    {
        _runtime.Capabilities = RuntimeCapabilities.OfContainerd;
        var command = Command();
        command.TaskDefinition.ContainerDefinitions[1].Links.Add("app");
        await Supervisor().StartAsync(command, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(_reports.Statuses(), Is.EqualTo(new[] { TaskStatus.Pending, TaskStatus.Stopped }));
            Assert.That((_reports.Last.StopCode, _reports.Last.StoppedReason), Is.EqualTo((StopCode.TaskFailedToStart,
                "CannotCreateContainerError: runtime containerd cannot run networkMode awsvpc, containerDefinitions[side].links (needs docker)")));
            Assert.That(_runtime.Creates, Is.Zero);
        });
        AssertNothingLeft();
    }

    [Test]
    public async Task A_task_that_runs_on_both_starts_on_containerd()
    {
        _runtime.Capabilities = RuntimeCapabilities.OfContainerd;
        var command = Command();
        command.TaskDefinition.NetworkMode = "bridge";
        await Supervisor().StartAsync(command, CancellationToken.None);
        Assert.That(_runtime.Creates, Is.EqualTo(2), "both containers made: nothing in it is Docker's alone");
    }

    [Test]
    public async Task A_secret_deleted_after_placement_fails_the_start()
    {
        var command = Command();
        command.SecretValues.Remove("tls");
        await Supervisor().StartAsync(command, CancellationToken.None);
        Assert.That((_reports.Last.StopCode, _reports.Last.StoppedReason), Is.EqualTo((StopCode.TaskFailedToStart, "secret \"tls\" was not sent (deleted?)")));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_restarted_agent_removes_what_tasks_it_no_longer_has_left_and_keeps_what_its_running_tasks_use()
    {
        const string Gone = "fedcba9876543210fedcba9876543210";
        var supervisor = Supervisor();
        await supervisor.StartAsync(Command(), CancellationToken.None);
        await supervisor.StartAsync(Command(Gone), CancellationToken.None);

        // The gone task's containers were removed while the agent was down, before its volumes were.
        foreach (var container in _runtime.Containers.Where(c => c.Spec.Labels[ContainerLabels.TaskId] == Gone))
        {
            await _runtime.RemoveAsync(container.Id, CancellationToken.None);
        }

        await Supervisor().AdoptAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_runtime.Volumes.Keys, Is.EquivalentTo(new[] { "orch-0123456789ab-scratch", "pg" }));
            Assert.That(_runtime.Networks.Keys, Is.EqualTo(new[] { "orch-0123456789ab" }));
            Assert.That(Directory.GetDirectories(Secrets).Select(Path.GetFileName), Is.EqualTo(new[] { TaskId }));
        });
    }

    [Test]
    public async Task A_host_path_swapped_for_a_link_after_the_check_fails_the_start_of_the_container_that_binds_it()
    {
        // "app" can write the allowed directory; "side" binds a directory in it and starts once app is healthy.
        var data = Path.Combine(_directory, "data");
        Directory.CreateDirectory(data);
        var command = TaskEnvironmentTests.Command(change: (t, c) =>
        {
            t.Volumes.Add(new Volume { Name = "data", Host = new HostVolumeProperties { SourcePath = data } });
            c.HealthCheck = new HealthCheck { Command = { "CMD-SHELL", "true" } };
            t.ContainerDefinitions[1].MountPoints.Add(new MountPoint { SourceVolume = "data", ContainerPath = "/data" });
            t.ContainerDefinitions[1].DependsOn.Add(new ContainerDependency { ContainerName = "app", Condition = "HEALTHY" });
        });
        var supervisor = Supervisor();
        await supervisor.StartAsync(command, CancellationToken.None);

        Directory.Delete(data);
        Directory.CreateSymbolicLink(data, "/etc");
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        await supervisor.OnEventAsync(_runtime.Health(app.Id, ContainerHealth.Healthy), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That((_reports.Last.LastStatus, _reports.Last.StopCode), Is.EqualTo((TaskStatus.Stopped, StopCode.TaskFailedToStart)));
            Assert.That(_reports.Last.StoppedReason, Is.EqualTo($"volume \"data\": host path {data} is not under a path this node allows (Agent:AllowedHostPaths: {_directory})"));
            Assert.That(_runtime.StartLog, Is.EqualTo(new[] { "app" }), "side never started");
            Assert.That(_runtime.Containers, Is.Empty, "a failed start leaves nothing");
        });
    }

    [Test]
    public async Task An_exception_the_runtime_did_not_map_fails_the_start_and_leaves_nothing_not_a_task_pending_for_good()
    {
        _runtime.CreateFaults["side"] = new HttpRequestException("An error occurred while sending the request.");
        await Supervisor().StartAsync(Command(), CancellationToken.None);

        Assert.That((_reports.Last.LastStatus, _reports.Last.StopCode, _reports.Last.StoppedReason), Is.EqualTo((TaskStatus.Stopped, StopCode.TaskFailedToStart,
            "the agent failed while starting the task (HttpRequestException: An error occurred while sending the request.)")));
        AssertNothingLeft();
    }

    [Test]
    public async Task Docker_going_away_while_containers_start_fails_the_start_and_what_it_could_not_remove_waits_for_the_next_start()
    {
        var command = Command();
        command.TaskDefinition.ContainerDefinitions[1].DependsOn.Add(new ContainerDependency { ContainerName = "app", Condition = "HEALTHY" });
        command.TaskDefinition.ContainerDefinitions[0].HealthCheck = new HealthCheck { Command = { "CMD-SHELL", "true" } };
        var supervisor = Supervisor();
        await supervisor.StartAsync(command, CancellationToken.None);
        var app = _runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");
        var healthy = _runtime.Health(app.Id, ContainerHealth.Healthy);

        _runtime.Down = new RuntimeUnavailableException("Docker is not reachable at fake: Connection refused");
        await supervisor.OnEventAsync(healthy, CancellationToken.None);

        Assert.That((_reports.Last.LastStatus, _reports.Last.StopCode, _reports.Last.StoppedReason),
            Is.EqualTo((TaskStatus.Stopped, StopCode.TaskFailedToStart, "Docker is not reachable at fake: Connection refused")));
    }
}
