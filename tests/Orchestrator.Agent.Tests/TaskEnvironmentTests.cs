using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests;

/// <summary>A task's volumes, network and secret files: made before its containers, checked against the node's policy, removed after.</summary>
internal sealed class TaskEnvironmentTests
{
    private const string TaskId = "0123456789abcdef0123456789abcdef";
    private const string Other = "fedcba9876543210fedcba9876543210";

    private string _directory = null!;
    private FakeRuntime _runtime = null!;
    private WorkloadSettings _settings = null!;

    private string Allowed => Path.Combine(_directory, "allowed");
    private string SecretsRoot => Path.Combine(_directory, "secrets");

    /// <summary>Where node-1's agent puts its secret files.</summary>
    private string Secrets => Path.Combine(SecretsRoot, "node-1");

    [SetUp]
    public void Build()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-environment-").FullName;
        Directory.CreateDirectory(Allowed);
        _runtime = new FakeRuntime();
        _settings = new WorkloadSettings { AllowedHostPaths = [Allowed], SecretsDirectory = SecretsRoot };
    }

    [TearDown]
    public void Clean() => Directory.Delete(_directory, recursive: true);

    private TaskEnvironment Environment(string node = "node-1", WorkloadSettings? settings = null) =>
        new(_runtime, new AgentIdentity("default", node, "127.0.0.1") { Workload = settings ?? _settings }, NullLogger.Instance);

    internal static StartTaskCommand Command(string taskId = TaskId, Action<TaskDefinition, ContainerDefinition>? change = null)
    {
        var app = new ContainerDefinition { Name = "app", Image = "busybox" };
        var task = new TaskDefinition { Family = "web", Revision = 3, TaskDefinitionArn = "web:3", ContainerDefinitions = { app, new ContainerDefinition { Name = "side", Image = "busybox" } } };
        change?.Invoke(task, app);
        return new StartTaskCommand { TaskId = taskId, Cluster = "default", TaskDefinition = task };
    }

    [Test]
    public async Task Task_volumes_are_made_per_task_with_its_labels_and_removed_with_it_while_shared_ones_stay()
    {
        var command = Command(change: (t, _) =>
        {
            t.Volumes.Add(new Volume { Name = "scratch" });
            t.Volumes.Add(new Volume
            {
                Name = "cache",
                DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "task", Driver = "local", DriverOpts = { ["type"] = "tmpfs" }, Labels = { ["team"] = "a" } },
            });
            t.Volumes.Add(new Volume { Name = "pg", DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared", Autoprovision = true, Labels = { ["team"] = "b" } } });
            t.Volumes.Add(new Volume { Name = "host", Host = new HostVolumeProperties { SourcePath = Allowed } });
        });
        var environment = Environment();

        await environment.PrepareAsync(command, CancellationToken.None);
        var made = _runtime.Volumes;
        await environment.RemoveAsync(TaskId, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(made.Keys, Is.EquivalentTo(new[] { "orch-0123456789ab-scratch", "orch-0123456789ab-cache", "pg" }), "no Docker volume for a host path");
            var cache = made["orch-0123456789ab-cache"];
            Assert.That((cache.Driver, cache.DriverOptions["type"]), Is.EqualTo(("local", "tmpfs")));
            Assert.That(cache.Labels, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["team"] = "a",
                [ContainerLabels.TaskId] = TaskId,
                [ContainerLabels.Cluster] = "default",
                [ContainerLabels.Node] = "node-1",
            }));
            Assert.That(made["orch-0123456789ab-scratch"].Driver, Is.EqualTo("local"));
            Assert.That(made["pg"].Labels, Is.EquivalentTo(new Dictionary<string, string> { ["team"] = "b" }), "a shared volume belongs to no task");
            Assert.That(_runtime.Volumes.Keys, Is.EquivalentTo(new[] { "pg" }), "the shared volume outlives the task");
        });
    }

    [Test]
    public async Task A_shared_volume_that_is_missing_fails_the_start_unless_autoprovision_and_one_that_exists_is_used()
    {
        StartTaskCommand Shared(bool autoprovision) => Command(change: (t, _) =>
            t.Volumes.Add(new Volume { Name = "pg", DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared", Autoprovision = autoprovision } }));

        var refused = Assert.ThrowsAsync<TaskEnvironmentException>(() => Environment().PrepareAsync(Shared(autoprovision: false), CancellationToken.None));
        var nothing = _runtime.Volumes.Count;
        await _runtime.CreateVolumeAsync(new VolumeSpec("pg", "local", new Dictionary<string, string>(), new Dictionary<string, string> { ["made"] = "by hand" }), CancellationToken.None);
        await Environment().PrepareAsync(Shared(autoprovision: false), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(refused!.Message, Is.EqualTo("volume \"pg\": the shared Docker volume pg does not exist on this node, and autoprovision is false"));
            Assert.That(nothing, Is.Zero);
            Assert.That(_runtime.Volumes["pg"].Labels["made"], Is.EqualTo("by hand"), "the existing one is used as it is");
        });
    }

    [Test]
    public async Task An_awsvpc_task_gets_a_network_of_its_own_removed_with_it()
    {
        var environment = Environment();
        await environment.PrepareAsync(Command(change: (t, _) => t.NetworkMode = "awsvpc"), CancellationToken.None);
        var made = _runtime.Networks;
        await environment.RemoveAsync(TaskId, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(made.Keys, Is.EqualTo(new[] { "orch-0123456789ab" }));
            Assert.That(made["orch-0123456789ab"].Labels[ContainerLabels.TaskId], Is.EqualTo(TaskId));
            Assert.That(_runtime.Networks, Is.Empty);
        });
    }

    [TestCase("bridge")]
    [TestCase("host")]
    [TestCase("none")]
    [TestCase("")]
    public async Task Other_network_modes_make_no_network(string mode)
    {
        await Environment().PrepareAsync(Command(change: (t, _) => t.NetworkMode = mode), CancellationToken.None);
        Assert.That(_runtime.Networks, Is.Empty);
    }

    [Test]
    public async Task Secret_files_hold_the_bytes_readable_by_any_user_under_directories_only_the_agent_enters_and_go_with_the_task()
    {
        var command = Command(change: (_, c) =>
        {
            c.Secrets.Add(new Secret { Name = "password", ValueFrom = "db-password", AsFile = true });
            c.Secrets.Add(new Secret { Name = "key.pem", ValueFrom = "tls:2", AsFile = true });
            c.Secrets.Add(new Secret { Name = "TOKEN", ValueFrom = "api-token" });
        });
        command.SecretValues["db-password"] = ByteString.CopyFromUtf8("hunter2");
        command.SecretValues["tls:2"] = ByteString.CopyFrom(0, 1, 2, 255);
        command.SecretValues["api-token"] = ByteString.CopyFromUtf8("t0k3n");
        var environment = Environment();
        await environment.PrepareAsync(command, CancellationToken.None);
        await environment.PrepareAsync(command, CancellationToken.None); // a second start of the same task rewrites them

        var directory = Path.Combine(Secrets, TaskId, "app");
        var files = Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var password = await File.ReadAllTextAsync(Path.Combine(directory, "password"));
        var key = await File.ReadAllBytesAsync(Path.Combine(directory, "key.pem"));
        var modes = (ModeOf(Secrets), ModeOf(Path.Combine(Secrets, TaskId)), ModeOf(directory), ModeOf(Path.Combine(directory, "password")));
        await environment.RemoveAsync(TaskId, CancellationToken.None);

        const UnixFileMode rwx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        const UnixFileMode r = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        Assert.Multiple(() =>
        {
            Assert.That(files, Is.EqualTo(new[] { "key.pem", "password" }), "only asFile secrets are files");
            Assert.That(password, Is.EqualTo("hunter2"));
            Assert.That(key, Is.EqualTo(new byte[] { 0, 1, 2, 255 }));
            Assert.That(modes, Is.EqualTo((rwx, rwx, rwx | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, r)));
            Assert.That(Directory.Exists(Path.Combine(Secrets, TaskId)), Is.False, "removed with the task");
            Assert.That(Directory.Exists(Path.Combine(Secrets, TaskId, "side")), Is.False, "no directory for a container without secret files");
        });
    }

    private static UnixFileMode ModeOf(string path) => OperatingSystem.IsWindows() ? 0 : File.GetUnixFileMode(path);

    [Test]
    public void A_secret_whose_value_was_not_sent_fails_the_start_with_its_name_only()
    {
        var command = Command(change: (_, c) => c.Secrets.Add(new Secret { Name = "PASSWORD", ValueFrom = "db-password" }));
        var refused = Assert.ThrowsAsync<TaskEnvironmentException>(() => Environment().PrepareAsync(command, CancellationToken.None));
        Assert.That(refused!.Message, Is.EqualTo("secret \"db-password\" was not sent (deleted?)"));
    }

    [TestCase(new byte[] { 0x68, 0x00, 0x69 }, TestName = "A secret variable holding a NUL fails the start without its value")]
    [TestCase(new byte[] { 0x68, 0xC3, 0x28 }, TestName = "A secret variable that is not UTF-8 fails the start without its value")]
    public void A_binary_secret_variable_fails_the_start_without_its_value(byte[] value)
    {
        var command = Command(change: (_, c) => c.Secrets.Add(new Secret { Name = "PASSWORD", ValueFrom = "db-password" }));
        command.SecretValues["db-password"] = ByteString.CopyFrom(value);
        var refused = Assert.ThrowsAsync<TaskEnvironmentException>(() => Environment().PrepareAsync(command, CancellationToken.None));
        Assert.That(refused!.Message, Is.EqualTo("secret \"db-password\" is binary (or holds a NUL): give it asFile"));
    }

    [Test]
    public void The_same_bytes_pass_as_a_secret_file()
    {
        var command = Command(change: (_, c) => c.Secrets.Add(new Secret { Name = "key", ValueFrom = "db-password", AsFile = true }));
        command.SecretValues["db-password"] = ByteString.CopyFrom(0x68, 0x00, 0xC3, 0x28);
        Assert.DoesNotThrowAsync(() => Environment().PrepareAsync(command, CancellationToken.None));
    }

    private static IEnumerable<TestCaseData> Refusals()
    {
        TestCaseData Case(string name, Action<TaskDefinition, ContainerDefinition, string> change, string reason) => new TestCaseData(change, reason).SetName(name);

        yield return Case("privileged on a node that does not allow it", (_, c, _) => c.Privileged = true,
            "container \"app\" is privileged, which this node does not allow (Agent:AllowPrivileged is false)");
        yield return Case("a capability that gives the host, on a node that does not allow privileged", (_, c, _) => c.LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { "NET_ADMIN", "SYS_ADMIN" } } },
            "container \"app\" adds capability SYS_ADMIN, which gives it the host as privileged does, and this node does not allow that (Agent:AllowPrivileged is false)");
        yield return Case("NET_ADMIN on the host's network, on a node that does not allow privileged", (t, c, _) =>
            {
                t.NetworkMode = "host";
                c.LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { "NET_ADMIN" } } };
            },
            "container \"app\" adds capability NET_ADMIN, which gives it the host as privileged does, and this node does not allow that (Agent:AllowPrivileged is false)");
        yield return Case("a task volume of the local driver that binds a node directory", (t, _, _) => t.Volumes.Add(new Volume
            {
                Name = "bound",
                DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "task", DriverOpts = { ["type"] = "none", ["device"] = "/etc", ["o"] = "bind" } },
            }),
            "volume \"bound\": driverOpts: type \"none\" could mount the node's own files; the local driver takes tmpfs, nfs, nfs4 or cifs (host paths go through host.sourcePath)");
        yield return Case("a shared volume of the local driver with a bind option", (t, _, _) => t.Volumes.Add(new Volume
            {
                Name = "shared-bound",
                DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared", Driver = "local", Autoprovision = true, DriverOpts = { ["type"] = "tmpfs", ["o"] = "bind" } },
            }),
            "volume \"shared-bound\": driverOpts: the mount option \"bind\" names a path of the node or binds one");
        yield return Case("a shared volume named as the agent names task volumes", (t, _, _) => t.Volumes.Add(new Volume
            {
                Name = "orch-fedcba987654-scratch",
                DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared" },
            }),
            "volume \"orch-fedcba987654-scratch\": a shared volume may not take this name: \"orch-fedcba987654-scratch\" starts with \"orch-\", the agent's names for volumes of single tasks");
        yield return Case("volumesFrom a container with secret files", (t, c, _) =>
            {
                c.Secrets.Add(new Secret { Name = "key", ValueFrom = "s", AsFile = true });
                t.ContainerDefinitions[1].VolumesFrom.Add(new VolumeFrom { SourceContainer = "app" });
            },
            "container \"side\": volumesFrom \"app\" would pass on its secret files (Docker copies every mount of the source, /run/secrets too)");
        yield return Case("a host path outside the allowed ones", (t, _, _) => t.Volumes.Add(new Volume { Name = "root", Host = new HostVolumeProperties { SourcePath = "/etc" } }),
            "volume \"root\": host path /etc is not under a path this node allows (Agent:AllowedHostPaths: {allowed})");
        yield return Case("a sibling whose name starts like an allowed path", (t, _, allowed) => t.Volumes.Add(new Volume { Name = "next", Host = new HostVolumeProperties { SourcePath = allowed + "2" } }),
            "volume \"next\": host path {allowed}2 is not under a path this node allows (Agent:AllowedHostPaths: {allowed})");
        yield return Case("a path with .. segments", (t, _, allowed) => t.Volumes.Add(new Volume { Name = "up", Host = new HostVolumeProperties { SourcePath = allowed + "/../../etc" } }),
            "volume \"up\": host path \"{allowed}/../../etc\" is not an absolute path without \".\" or \"..\" segments");
        yield return Case("a relative host path", (t, _, _) => t.Volumes.Add(new Volume { Name = "rel", Host = new HostVolumeProperties { SourcePath = "data" } }),
            "volume \"rel\": host path \"data\" is not an absolute path without \".\" or \"..\" segments");
        yield return Case("a mount of a volume the task does not have", (_, c, _) => c.MountPoints.Add(new MountPoint { SourceVolume = "ghost", ContainerPath = "/g" }),
            "container \"app\": no volume named \"ghost\" in the task's volumes");
        yield return Case("volumesFrom a container the task does not have", (_, c, _) => c.VolumesFrom.Add(new VolumeFrom { SourceContainer = "ghost" }),
            "container \"app\": no other container named \"ghost\" in the task (volumesFrom, links)");
        yield return Case("a link to itself", (_, c, _) => c.Links.Add("app:me"),
            "container \"app\": no other container named \"app\" in the task (volumesFrom, links)");
        yield return Case("a network mode this agent does not know", (t, _, _) => t.NetworkMode = "overlay",
            "network mode \"overlay\" is not one this agent knows (bridge, host, none, awsvpc)");
        yield return Case("a secret file name that is a path", (_, c, _) => c.Secrets.Add(new Secret { Name = "../escape", ValueFrom = "s", AsFile = true }),
            "container \"app\": secret file name \"../escape\" is not a plain file name");
    }

    [TestCaseSource(nameof(Refusals))]
    public void What_the_node_does_not_allow_or_the_task_does_not_have_fails_the_start_before_anything_is_made(Action<TaskDefinition, ContainerDefinition, string> change, string reason)
    {
        var command = Command(change: (t, c) => change(t, c, Allowed));
        command.SecretValues["s"] = ByteString.CopyFromUtf8("x");

        // A task volume, so that "nothing made" means something: the checks come before it.
        command.TaskDefinition.Volumes.Add(new Volume { Name = "scratch" });
        var refused = Assert.ThrowsAsync<TaskEnvironmentException>(() => Environment().PrepareAsync(command, CancellationToken.None));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.Message, Is.EqualTo(reason.Replace("{allowed}", Allowed, StringComparison.Ordinal)));
            Assert.That((_runtime.Volumes.Count, _runtime.Networks.Count, Directory.Exists(SecretsRoot)), Is.EqualTo((0, 0, false)), "nothing made");
        });
    }

    [Test]
    public void Privileged_containers_and_host_paths_under_the_allowed_ones_pass_where_the_node_allows_them()
    {
        Directory.CreateDirectory(Path.Combine(Allowed, "db"));
        var command = Command(change: (t, c) =>
        {
            c.Privileged = true;
            c.LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { "SYS_ADMIN" } } };
            t.Volumes.Add(new Volume { Name = "db", Host = new HostVolumeProperties { SourcePath = Path.Combine(Allowed, "db") } });
            t.Volumes.Add(new Volume { Name = "new", Host = new HostVolumeProperties { SourcePath = Path.Combine(Allowed, "not", "yet") } });
        });
        Assert.DoesNotThrowAsync(() => Environment(settings: _settings with { AllowPrivileged = true }).PrepareAsync(command, CancellationToken.None));
    }

    [Test]
    public void A_symbolic_link_under_an_allowed_path_that_leads_out_of_it_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(Allowed, "escape"), "/etc");
        var command = Command(change: (t, _) => t.Volumes.Add(new Volume { Name = "e", Host = new HostVolumeProperties { SourcePath = Path.Combine(Allowed, "escape", "ssl") } }));
        var refused = Assert.ThrowsAsync<TaskEnvironmentException>(() => Environment().PrepareAsync(command, CancellationToken.None));
        Assert.That(refused!.Message, Does.StartWith($"volume \"e\": host path {Allowed}/escape/ssl is not under a path this node allows"));
    }

    [Test]
    public void A_host_path_with_a_segment_the_agent_cannot_look_at_is_refused_not_taken_as_missing()
    {
        // Tests run as root, whom no mode stops: the stand-in answers for the kernel as it would to the agent's user.
        var locked = Path.Combine(Allowed, "locked");
        string? ReadLink(string path) => path == locked ? throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.") : HostPaths.ReadLink(path);
        var command = Command(change: (t, _) => t.Volumes.Add(new Volume { Name = "l", Host = new HostVolumeProperties { SourcePath = Path.Combine(locked, "db") } }));
        var environment = new TaskEnvironment(_runtime, new AgentIdentity("default", "node-1", "127.0.0.1") { Workload = _settings }, NullLogger.Instance) { ReadLink = ReadLink };

        var refused = Assert.ThrowsAsync<TaskEnvironmentException>(() => environment.PrepareAsync(command, CancellationToken.None));
        Assert.That(refused!.Message, Is.EqualTo($"volume \"l\": host path {locked}/db cannot be checked against Agent:AllowedHostPaths (permission denied looking at {locked})"));
    }

    [Test]
    public async Task A_host_path_is_given_to_docker_with_its_links_followed()
    {
        Directory.CreateDirectory(Path.Combine(Allowed, "real"));
        Directory.CreateSymbolicLink(Path.Combine(Allowed, "link"), Path.Combine(Allowed, "real"));
        var command = Command(change: (t, c) =>
        {
            t.Volumes.Add(new Volume { Name = "d", Host = new HostVolumeProperties { SourcePath = Path.Combine(Allowed, "link", "db") } });
            c.MountPoints.Add(new MountPoint { SourceVolume = "d", ContainerPath = "/db" });
        });

        var sources = await Environment().PrepareAsync(command, CancellationToken.None);
        var options = ContainerOptionsBuilder.Build(command, command.TaskDefinition.ContainerDefinitions[0], _settings, "node-1", sources);

        Assert.That(options.Mounts.Single().Source, Is.EqualTo(Path.Combine(Allowed, "real", "db")));
    }

    [Test]
    public void A_missing_volume_driver_is_the_engines_refusal()
    {
        _runtime.MissingVolumeDrivers.Add("rexray");
        var command = Command(change: (t, _) => t.Volumes.Add(new Volume { Name = "ebs", DockerVolumeConfiguration = new DockerVolumeConfiguration { Driver = "rexray" } }));
        var refused = Assert.ThrowsAsync<ContainerOperationException>(() => Environment().PrepareAsync(command, CancellationToken.None));
        Assert.That(refused!.Message, Is.EqualTo("CannotCreateVolumeError: error looking up volume plugin rexray: plugin \"rexray\" not found"));
    }

    [Test]
    public async Task Leftovers_of_tasks_the_agent_no_longer_has_are_removed_and_nothing_of_known_tasks_or_other_nodes()
    {
        StartTaskCommand Full(string id) => Command(id, (t, c) =>
        {
            t.NetworkMode = "awsvpc";
            t.Volumes.Add(new Volume { Name = "scratch" });
            t.Volumes.Add(new Volume { Name = "pg", DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared", Autoprovision = true } });
            c.Secrets.Add(new Secret { Name = "s", ValueFrom = "s", AsFile = true });
        });
        const string OtherNodes = "00000000000000000000000000000077";
        var known = Full(TaskId);
        var gone = Full(Other);
        var elsewhere = Full(OtherNodes);
        foreach (var command in new[] { known, gone, elsewhere })
        {
            command.SecretValues["s"] = ByteString.CopyFromUtf8("x");
        }

        await Environment().PrepareAsync(known, CancellationToken.None);
        await Environment().PrepareAsync(gone, CancellationToken.None);
        await Environment("node-2").PrepareAsync(elsewhere, CancellationToken.None); // another agent of the host, sharing the root

        await Environment().RemoveLeftoversAsync([TaskId], CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(_runtime.Volumes.Keys, Is.EquivalentTo(new[] { "orch-0123456789ab-scratch", "orch-000000000000-scratch", "pg" }));
            Assert.That(_runtime.Networks.Keys, Is.EquivalentTo(new[] { "orch-0123456789ab", "orch-000000000000" }));
            Assert.That(Directory.GetDirectories(Secrets).Select(Path.GetFileName), Is.EqualTo(new[] { TaskId }));
            Assert.That(Directory.GetDirectories(Path.Combine(SecretsRoot, "node-2")).Select(Path.GetFileName), Is.EqualTo(new[] { OtherNodes }), "another agent's files are its own");
        });
    }
}
