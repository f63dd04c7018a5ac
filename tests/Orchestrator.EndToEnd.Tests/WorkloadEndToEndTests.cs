using System.Text.Json;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// Task definitions that run real applications, on the real engine: storage, secrets, logs, networks
/// and runtime options, each checked in what `docker inspect` and the container itself show.
/// </summary>
internal sealed class WorkloadEndToEndTests
{
    /// <summary>A cluster whose agent removes stopped tasks' containers (and with them their volumes) after 2 s.</summary>
    private static async Task<Cluster> StartWithShortRetentionAsync()
    {
        var cluster = await Cluster.StartAsync();
        await RestartAgentWithAsync(cluster, "--Agent:StoppedContainerRetention=00:00:02");
        return cluster;
    }

    /// <summary>Starts the agent again with more settings, once the scheduler has seen the first one go.</summary>
    private static async Task RestartAgentWithAsync(Cluster cluster, params string[] settings)
    {
        cluster.Agent!.KillHard();
        await cluster.WaitUntilConnectedAsync(0, connected: false);
        await cluster.StartAgentAsync(0, settings);
    }

    private static ContainerDefinition Container(string name, params string[] command) => new()
    {
        Name = name,
        Image = Docker.TestImage,
        Command = { command },
        Memory = 32,
        StopTimeoutSeconds = 2,
    };

    private static async Task<string> RegisterAsync(Cluster cluster, RegisterTaskDefinitionRequest request) =>
        (await cluster.TaskDefinitions.RegisterTaskDefinitionAsync(request)).TaskDefinition.TaskDefinitionArn;

    private static JsonElement Inspect(string container)
    {
        var (code, output) = Docker.Run("inspect", container);
        Assert.That(code, Is.Zero, output);
        return JsonDocument.Parse(output).RootElement[0].Clone();
    }

    private static (int ExitCode, string Output) Exec(string container, params string[] command) => Docker.Run(["exec", container, .. command]);

    private static string RuntimeIdOf(Contracts.V1.Task task, string container) => task.Containers.Single(c => c.Name == container).RuntimeId;

    /// <summary>What the engine still has of a task: containers, volumes and networks labelled with its id.</summary>
    private static string Leftovers(string taskId)
    {
        var filter = $"label=orchestrator.task-id={taskId}";
        return string.Join(' ', Docker.Run("ps", "-a", "-q", "--filter", filter).Output, Docker.Run("volume", "ls", "-q", "--filter", filter).Output, Docker.Run("network", "ls", "-q", "--filter", filter).Output).Trim();
    }

    /// <summary>Where the agent writes a task's secret files: under its node's own directory of Agent:SecretsDirectory.</summary>
    private static string SecretsOf(Cluster cluster, string taskId) => Path.Combine(cluster.DataDirectory, cluster.Node, "secrets", cluster.Node, taskId);

    [Test]
    public async Task A_bind_mount_that_the_container_writes_is_read_on_the_host()
    {
        await using var cluster = await Cluster.StartAsync();
        // Under the agent's own directory for host volumes, the one path allowed by default.
        var hostDirectory = Path.Combine(cluster.DataDirectory, cluster.Node, "volumes", "out");
        Directory.CreateDirectory(hostDirectory);
        var writer = Container("main", "sh", "-c", "echo written by the task > /out/file");
        writer.MountPoints.Add(new MountPoint { SourceVolume = "out", ContainerPath = "/out" });
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest
        {
            Family = "writer",
            Volumes = { new Volume { Name = "out", Host = new HostVolumeProperties { SourcePath = hostDirectory } } },
            ContainerDefinitions = { writer },
        });

        var placed = await cluster.RunAsync("writer");
        var stopped = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        var mount = Inspect(RuntimeIdOf(stopped, "main")).GetProperty("Mounts").EnumerateArray().Single();

        Assert.Multiple(() =>
        {
            Assert.That(stopped.Containers.Single().ExitCode, Is.Zero, stopped.StoppedReason);
            Assert.That(File.ReadAllText(Path.Combine(hostDirectory, "file")), Is.EqualTo("written by the task\n"));
            Assert.That((mount.GetProperty("Type").GetString(), mount.GetProperty("Source").GetString(), mount.GetProperty("Destination").GetString(), mount.GetProperty("RW").GetBoolean()),
                Is.EqualTo(("bind", hostDirectory, "/out", true)));
        });
    }

    [Test]
    public async Task A_shared_volume_survives_its_task_and_a_task_volume_does_not()
    {
        var shared = $"e2e-shared-{Guid.NewGuid():N}"[..24];
        try
        {
            await using var cluster = await StartWithShortRetentionAsync();
            var writer = Container("main", "sh", "-c", "echo kept > /shared/file && echo gone > /scratch/file && exec sleep 3600");
            writer.MountPoints.Add(new MountPoint { SourceVolume = shared, ContainerPath = "/shared" });
            writer.MountPoints.Add(new MountPoint { SourceVolume = "scratch", ContainerPath = "/scratch" });
            await RegisterAsync(cluster, new RegisterTaskDefinitionRequest
            {
                Family = "volumes",
                Volumes =
                {
                    new Volume { Name = shared, DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared", Autoprovision = true } },
                    new Volume { Name = "scratch" },
                },
                ContainerDefinitions = { writer },
            });
            var reader = Container("main", "sh", "-c", "grep -qx kept /data/file");
            reader.MountPoints.Add(new MountPoint { SourceVolume = shared, ContainerPath = "/data", ReadOnly = true });
            await RegisterAsync(cluster, new RegisterTaskDefinitionRequest
            {
                Family = "reader",
                // The volume by its Docker name; without autoprovision a missing one would fail the start.
                Volumes = { new Volume { Name = shared, DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared" } } },
                ContainerDefinitions = { reader },
            });

            var placed = await cluster.RunAsync("volumes");
            var running = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
            var taskVolume = Docker.Run("volume", "ls", "-q", "--filter", $"label=orchestrator.task-id={placed.TaskId}").Output;
            var mounts = Inspect(RuntimeIdOf(running, "main")).GetProperty("Mounts").EnumerateArray()
                .Select(m => $"{m.GetProperty("Type").GetString()} {m.GetProperty("Name").GetString()} {m.GetProperty("Destination").GetString()}").ToList();
            await cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = placed.TaskId });
            await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
            await Cluster.EventuallyAsync(() => Task.FromResult(Leftovers(placed.TaskId).Length == 0), "the stopped task's containers and volume are removed",
                () => Leftovers(placed.TaskId));

            var read = await cluster.RunAsync("reader");
            var done = await cluster.WaitForAsync(read.TaskId, TaskStatus.Stopped);

            Assert.Multiple(() =>
            {
                Assert.That(taskVolume, Is.EqualTo($"orch-{placed.TaskId[..12]}-scratch"));
                Assert.That(mounts, Is.EquivalentTo(new[] { $"volume orch-{placed.TaskId[..12]}-scratch /scratch", $"volume {shared} /shared" }));
                Assert.That(Docker.Run("volume", "inspect", shared).ExitCode, Is.Zero, "the shared volume is still there");
                Assert.That(done.Containers.Single().ExitCode, Is.Zero, "a later task reads what the first wrote in the shared volume");
            });
        }
        finally
        {
            Docker.Run("volume", "rm", "-f", shared);
        }
    }
    // Needs the scheduler's SecretService and the secret values in the start command (issue 13's
    // secrets part on the scheduler's side).
    [Test]
    public async Task A_secret_is_read_from_run_secrets_and_from_the_environment_and_is_in_no_answer_and_no_log()
    {
        await using var cluster = await Cluster.StartAsync();
        var value = $"e2e-{Guid.NewGuid():N}";
        await new SecretService.SecretServiceClient(cluster.Channel).PutSecretAsync(new PutSecretRequest { Name = "e2e-db-password", StringValue = value });
        var main = Container("main", "sleep", "3600");
        main.User = "1000:1000"; // the file is readable by a container that does not run as root
        main.Secrets.Add(new Secret { Name = "DB_PASSWORD", ValueFrom = "e2e-db-password" });
        main.Secrets.Add(new Secret { Name = "db-password", ValueFrom = "e2e-db-password", AsFile = true });
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest { Family = "secretive", ContainerDefinitions = { main } });

        var placed = await cluster.RunAsync("secretive");
        var running = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var id = RuntimeIdOf(running, "main");
        var file = Exec(id, "cat", "/run/secrets/db-password");
        var variable = Exec(id, "sh", "-c", "echo \"$DB_PASSWORD\"");
        var mode = Exec(id, "stat", "-c", "%a", "/run/secrets/db-password");
        var overwrite = Exec(id, "sh", "-c", "echo x > /run/secrets/db-password");
        var inspect = Inspect(id);
        var secretMount = inspect.GetProperty("Mounts").EnumerateArray().Single(m => m.GetProperty("Destination").GetString() == "/run/secrets");
        var described = await cluster.DescribeAsync(placed.TaskId);
        var definition = await cluster.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "secretive" });
        await cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = placed.TaskId });
        var stopped = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        string[] logs = [.. cluster.Scheduler.StandardOutput, .. cluster.Scheduler.StandardError, .. cluster.Agent!.StandardOutput, .. cluster.Agent.StandardError];

        Assert.Multiple(() =>
        {
            Assert.That(file, Is.EqualTo((0, value)));
            Assert.That(variable, Is.EqualTo((0, value)));
            Assert.That(mode, Is.EqualTo((0, "444")));
            Assert.That(overwrite.ExitCode, Is.Not.Zero, "read-only");
            Assert.That(secretMount.GetProperty("RW").GetBoolean(), Is.False);
            Assert.That(inspect.GetProperty("Config").GetProperty("Labels").ToString(), Does.Not.Contain(value), "not in a label");
            Assert.That(described.ToString() + stopped, Does.Not.Contain(value), "not in DescribeTasks");
            Assert.That(definition.ToString(), Does.Not.Contain(value).And.Contain("e2e-db-password"), "the definition holds the reference only");
            Assert.That(logs.Where(l => l.Contains(value, StringComparison.Ordinal)), Is.Empty, "in no log line of the scheduler or the agent");
        });
    }

    [Test]
    public async Task The_node_caps_the_log_of_a_container_that_names_no_driver_or_no_max_size_and_leaves_other_drivers_as_given()
    {
        await using var cluster = await Cluster.StartAsync();
        var plain = Container("plain", "sleep", "3600");
        var json = Container("json", "sleep", "3600");
        json.LogConfiguration = new LogConfiguration { LogDriver = "json-file", Options = { ["labels"] = "team" } };
        var quiet = Container("quiet", "sleep", "3600");
        quiet.LogConfiguration = new LogConfiguration { LogDriver = "none" };
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest { Family = "chatty", ContainerDefinitions = { plain, json, quiet } });

        var placed = await cluster.RunAsync("chatty");
        var running = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        string LogConfig(string name) => Docker.Inspect(RuntimeIdOf(running, name), "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}");

        Assert.Multiple(() =>
        {
            Assert.That(LogConfig("plain"), Is.EqualTo("local {\"max-file\":\"3\",\"max-size\":\"10m\"}"));
            Assert.That(LogConfig("json"), Is.EqualTo("json-file {\"labels\":\"team\",\"max-file\":\"3\",\"max-size\":\"10m\"}"));
            Assert.That(LogConfig("quiet"), Is.EqualTo("none {}"));
        });
    }

    [Test]
    public async Task Two_containers_of_an_awsvpc_task_talk_by_name_on_its_own_network_which_goes_with_the_task()
    {
        await using var cluster = await StartWithShortRetentionAsync();
        var server = Container("server", "httpd", "-f", "-p", "8080", "-h", "/www");
        server.PortMappings.Add(new PortMapping { ContainerPort = 8080 });
        // Retries while the server starts; its exit code says whether it reached the server by name.
        var client = Container("client", "sh", "-c", "for i in $(seq 1 100); do wget -q -O /tmp/page http://server:8080/ && grep -q hello /tmp/page && exit 0; sleep 0.1; done; exit 1");
        client.Essential = false;
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest { Family = "pair", NetworkMode = "awsvpc", ContainerDefinitions = { server, client } });

        var placed = await cluster.RunAsync("pair");
        await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        Contracts.V1.Task? task = null;
        await Cluster.EventuallyAsync(async () => (task = await cluster.DescribeAsync(placed.TaskId)).Containers.Single(c => c.Name == "client").LastStatus == TaskStatus.Stopped,
            "the client has exited", () => task?.ToString() ?? "");
        var network = $"orch-{placed.TaskId[..12]}";
        var label = Docker.Inspect(network, "{{index .Labels \"orchestrator.task-id\"}}");
        string NetworksOf(string container) => Docker.Inspect(RuntimeIdOf(task!, container), $"{{{{range $name, $n := .NetworkSettings.Networks}}}}{{{{$name}}}} {{{{join $n.Aliases \",\"}}}}{{{{end}}}}");
        var (serverNetworks, clientNetworks) = (NetworksOf("server"), NetworksOf("client"));
        var hostPort = task!.Containers.Single(c => c.Name == "server").NetworkBindings.Single().HostPort;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var published = await http.GetStringAsync($"http://127.0.0.1:{hostPort}/");

        // A container outside the task (on Docker's default bridge) does not reach the server's own address.
        var address = Docker.Inspect(RuntimeIdOf(task, "server"), $"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
        var outsider = Docker.Run("run", "--rm", Docker.TestImage, "nc", "-w", "2", address, "8080");

        await cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = placed.TaskId });
        await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        await Cluster.EventuallyAsync(() => Task.FromResult(Leftovers(placed.TaskId).Length == 0), "the task's containers and network are removed", () => Leftovers(placed.TaskId));

        Assert.Multiple(() =>
        {
            Assert.That(task.Containers.Single(c => c.Name == "client").ExitCode, Is.Zero, "the client reached the server by its container name");
            Assert.That(label, Is.EqualTo(placed.TaskId));
            // Docker adds the container's short id as an alias of its own.
            Assert.That(serverNetworks, Does.StartWith($"{network} server,").And.Not.Contain("bridge"), "on the task's network only, known by its container name");
            Assert.That(clientNetworks, Does.StartWith($"{network} client,").And.Not.Contain("bridge"));
            Assert.That(published.Trim(), Is.EqualTo("hello"), "its published port is published on the host as in bridge mode");
            Assert.That(outsider.ExitCode, Is.Not.Zero, $"nothing else reaches it: {outsider.Output}");
        });
    }

    [Test]
    public async Task Runtime_options_are_what_docker_inspect_and_the_container_itself_show()
    {
        await using var cluster = await Cluster.StartAsync();
        var main = Container("main", "sleep", "3600");
        main.User = "1000:1000";
        main.WorkingDirectory = "/tmp";
        main.Ulimits.Add(new Ulimit { Name = "nofile", SoftLimit = 1024, HardLimit = 2048 });
        main.ReadonlyRootFilesystem = true;
        main.LinuxParameters = new LinuxParameters
        {
            Capabilities = new KernelCapabilities { Add = { "NET_ADMIN" }, Drop = { "MKNOD" } },
            InitProcessEnabled = true,
            SharedMemorySize = 128,
            Tmpfs = { new Tmpfs { ContainerPath = "/scratch", Size = 16, MountOptions = { "noexec" } } },
        };
        main.DnsServers.Add("127.0.0.53");
        main.DnsSearchDomains.Add("e2e.internal");
        main.ExtraHosts.Add(new HostEntry { Hostname = "db.e2e", IpAddress = "10.1.2.3" });
        main.Hostname = "e2e-host";
        main.PseudoTerminal = true;
        main.Interactive = true;
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest { Family = "options", ContainerDefinitions = { main } });

        var placed = await cluster.RunAsync("options");
        var id = RuntimeIdOf(await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running), "main");
        var inspect = Inspect(id);
        var host = inspect.GetProperty("HostConfig");
        var config = inspect.GetProperty("Config");
        static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

        Assert.Multiple(() =>
        {
            Assert.That((config.GetProperty("User").GetString(), config.GetProperty("WorkingDir").GetString(), config.GetProperty("Hostname").GetString()), Is.EqualTo(("1000:1000", "/tmp", "e2e-host")));
            Assert.That((config.GetProperty("Tty").GetBoolean(), config.GetProperty("OpenStdin").GetBoolean()), Is.EqualTo((true, true)));
            var ulimit = host.GetProperty("Ulimits")[0];
            Assert.That((ulimit.GetProperty("Name").GetString(), ulimit.GetProperty("Soft").GetInt64(), ulimit.GetProperty("Hard").GetInt64()), Is.EqualTo(("nofile", 1024L, 2048L)));
            Assert.That(host.GetProperty("ReadonlyRootfs").GetBoolean(), Is.True);
            Assert.That(Strings(host.GetProperty("CapAdd")), Has.Some.EndsWith("NET_ADMIN"));
            Assert.That(Strings(host.GetProperty("CapDrop")), Has.Some.EndsWith("MKNOD"));
            Assert.That(host.GetProperty("Init").GetBoolean(), Is.True);
            Assert.That(host.GetProperty("ShmSize").GetInt64(), Is.EqualTo(128L << 20));
            Assert.That(host.GetProperty("Tmpfs").GetProperty("/scratch").GetString(), Is.EqualTo("size=16m,noexec"));
            Assert.That(Strings(host.GetProperty("Dns")), Is.EqualTo(new[] { "127.0.0.53" }));
            Assert.That(Strings(host.GetProperty("DnsSearch")), Is.EqualTo(new[] { "e2e.internal" }));
            Assert.That(Strings(host.GetProperty("ExtraHosts")), Is.EqualTo(new[] { "db.e2e:10.1.2.3" }));
            Assert.That(host.GetProperty("Privileged").GetBoolean(), Is.False);

            // What the container sees.
            Assert.That(Exec(id, "id", "-u"), Is.EqualTo((0, "1000")));
            Assert.That(Exec(id, "pwd"), Is.EqualTo((0, "/tmp")));
            Assert.That(Exec(id, "grep", "Max open files", "/proc/1/limits").Output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3..5], Is.EqualTo(new[] { "1024", "2048" }), "soft and hard, of its processes (docker exec gets its own)");
            Assert.That(Exec(id, "hostname"), Is.EqualTo((0, "e2e-host")));
            Assert.That(Exec(id, "cat", "/etc/hosts").Output, Does.Contain("10.1.2.3\tdb.e2e"));
            Assert.That(Exec(id, "cat", "/etc/resolv.conf").Output, Does.Contain("nameserver 127.0.0.53").And.Contain("search e2e.internal"));
            Assert.That(Exec(id, "touch", "/file").ExitCode, Is.Not.Zero, "the root file system is read-only");
            Assert.That(Exec(id, "sh", "-c", "grep ' /scratch ' /proc/mounts").Output, Does.StartWith("tmpfs /scratch tmpfs").And.Contain("noexec").And.Contain("size=16384k"));
            Assert.That(Exec(id, "sh", "-c", "df -k /dev/shm | tail -1").Output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Is.EqualTo("131072"));
        });
    }

    [Test]
    public async Task A_host_network_task_has_the_hosts_network_and_its_port_is_the_hosts_own()
    {
        await using var cluster = await Cluster.StartAsync();
        var port = Orchestrator.Tests.Shared.DaemonProcess.FreePort();
        var main = Container("main", "httpd", "-f", "-p", $"127.0.0.1:{port}", "-h", "/www");
        main.PortMappings.Add(new PortMapping { ContainerPort = port });
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest { Family = "onhost", NetworkMode = "host", ContainerDefinitions = { main } });
        var placed = await cluster.RunAsync("onhost");
        var running = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var id = RuntimeIdOf(running, "main");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string? body = null;
        await Cluster.EventuallyAsync(async () =>
        {
            try
            {
                body = await http.GetStringAsync($"http://127.0.0.1:{port}/");
                return true;
            }
            catch (HttpRequestException)
            {
                return false; // httpd not listening yet
            }
        }, "the container's port answers on the host");

        Assert.Multiple(() =>
        {
            Assert.That(Docker.Inspect(id, "{{.HostConfig.NetworkMode}} {{json .HostConfig.PortBindings}}"), Is.EqualTo("host {}"), "nothing published");
            Assert.That(Exec(id, "hostname").Output, Is.EqualTo(Environment.MachineName));
            Assert.That(body!.Trim(), Is.EqualTo("hello"));
            var binding = running.Containers.Single().NetworkBindings.Single();
            Assert.That((binding.ContainerPort, binding.HostPort), Is.EqualTo((port, port)), "reported as the host's port");
        });
    }

    [Test]
    public async Task A_privileged_container_runs_only_where_the_agent_allows_it()
    {
        await using var cluster = await Cluster.StartAsync();
        var main = Container("main", "sleep", "3600");
        main.Privileged = true;
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest { Family = "root", ContainerDefinitions = { main } });

        // The node's policy came with its registration: the scheduler does not place it there (were it
        // placed, the agent would refuse it itself: TaskFailedToStart naming Agent:AllowPrivileged).
        var refused = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "root" });
        await RestartAgentWithAsync(cluster, "--Agent:AllowPrivileged=true");
        var placed = await cluster.RunAsync("root");
        Contracts.V1.Task? task = null;
        await Cluster.EventuallyAsync(async () => (task = await cluster.DescribeAsync(placed.TaskId)).LastStatus is TaskStatus.Running or TaskStatus.Stopped,
            "the allowed task runs or the engine refuses it", () => task?.ToString() ?? "");

        Assert.Multiple(() =>
        {
            Assert.That(refused.Tasks, Is.Empty);
            Assert.That(refused.Failures.Single().Detail, Does.Contain("privileged containers are not allowed (Agent:AllowPrivileged)"));
            if (task!.LastStatus == TaskStatus.Running)
            {
                Assert.That(Docker.Inspect(RuntimeIdOf(task, "main"), "{{.HostConfig.Privileged}}"), Is.EqualTo("true"));
            }
            else
            {
                // An engine in a sandbox that cannot grant every capability ("unable to apply caps")
                // refuses it at start: the agent did ask for it.
                Assert.That(task.StoppedReason, Does.StartWith("CannotStartContainerError: ").And.Contain("caps"));
            }
        });
    }

    private static IEnumerable<TestCaseData> RefusedStarts()
    {
        // A path under the allowed directory that does not exist: Docker's Mounts API refuses it (it
        // would not be created, as root, wherever a task asks).
        yield return new TestCaseData(
            (Func<Cluster, Volume>)(c => new Volume { Name = "data", Host = new HostVolumeProperties { SourcePath = Path.Combine(c.DataDirectory, c.Node, "volumes", "missing") } }),
            "CannotCreateContainerError: invalid mount config for type \"bind\": bind source path does not exist: ")
            .SetName("A host path that does not exist fails the start with the engine's message and leaves nothing");

        // The engine looks for the plugin for a while (about 30 s) before it gives up.
        yield return new TestCaseData(
            (Func<Cluster, Volume>)(_ => new Volume { Name = "data", DockerVolumeConfiguration = new DockerVolumeConfiguration { Driver = "e2e-missing-driver" } }),
            "CannotCreateVolumeError: ")
            .SetName("A volume driver that is missing fails the start with the engine's message and leaves nothing");
    }

    [TestCaseSource(nameof(RefusedStarts))]
    public async Task A_start_the_engine_refuses_fails_with_its_message_and_leaves_nothing(Func<Cluster, Volume> volume, string reason)
    {
        await using var cluster = await Cluster.StartAsync();
        var main = Container("main", "sleep", "3600");
        main.MountPoints.Add(new MountPoint { SourceVolume = "data", ContainerPath = "/data" });
        main.Secrets.Add(new Secret { Name = "s", ValueFrom = "e2e-refused", AsFile = true });
        var side = Container("side", "sleep", "3600");
        await new SecretService.SecretServiceClient(cluster.Channel).PutSecretAsync(new PutSecretRequest { Name = "e2e-refused", StringValue = "x" });
        await RegisterAsync(cluster, new RegisterTaskDefinitionRequest
        {
            Family = "refused",
            NetworkMode = "awsvpc",
            Volumes = { volume(cluster), new Volume { Name = "scratch" } },
            ContainerDefinitions = { side, main },
        });

        var placed = await cluster.RunAsync("refused");
        var stopped = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        Assert.Multiple(() =>
        {
            Assert.That(stopped.StopCode, Is.EqualTo(StopCode.TaskFailedToStart));
            Assert.That(stopped.StoppedReason, Does.StartWith(reason));
            Assert.That(Leftovers(placed.TaskId), Is.Empty, "no container, volume or network of the task");
            Assert.That(Directory.Exists(SecretsOf(cluster, placed.TaskId)), Is.False, "no secret file");
        });
    }
}
