using Google.Protobuf;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tests;

/// <summary>Each field of a container definition (and the task's volumes and network mode) to what the runtime is asked to create.</summary>
internal sealed class ContainerOptionsBuilderTests
{
    private const string TaskId = "0123456789abcdef0123456789abcdef";
    private const string Prefix = "orch-web-3-";
    private const string Suffix = "-0123456789ab";

    private static readonly WorkloadSettings Settings = new() { SecretsDirectory = "/run/orch/secrets", LogDriver = "local", LogMaxSize = "10m", LogMaxFiles = 3 };

    private static StartTaskCommand Command(Action<TaskDefinition, ContainerDefinition> change)
    {
        var app = new ContainerDefinition { Name = "app", Image = "busybox" };
        var task = new TaskDefinition
        {
            Family = "web",
            Revision = 3,
            TaskDefinitionArn = "web:3",
            ContainerDefinitions = { app, new ContainerDefinition { Name = "db", Image = "busybox" } },
        };
        change(task, app);
        return new StartTaskCommand { TaskId = TaskId, Cluster = "default", TaskDefinition = task };
    }

    private static ContainerOptions OptionsOf(StartTaskCommand command) =>
        ContainerSpecBuilder.Build(command, command.TaskDefinition.ContainerDefinitions[0], new AgentIdentity("default", "node-1", "127.0.0.1") { Workload = Settings }).Options;

    private static string LogOf(ContainerOptions options) =>
        $"{options.Log!.Driver} {string.Join(",", options.Log.Options.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}={o.Value}"))}".Trim();

    private static IEnumerable<TestCaseData> Fields()
    {
        TestCaseData Case(string name, Action<TaskDefinition, ContainerDefinition> change, Func<ContainerOptions, object> actual, object expected) =>
            new TestCaseData(change, actual, expected).SetName(name);

        yield return Case("host volume → bind mount",
            (t, c) =>
            {
                t.Volumes.Add(new Volume { Name = "data", Host = new HostVolumeProperties { SourcePath = "/srv/data" } });
                c.MountPoints.Add(new MountPoint { SourceVolume = "data", ContainerPath = "/data", ReadOnly = true });
            },
            o => o.Mounts, new[] { new MountSpec(MountKind.Bind, "/srv/data", "/data", true) });
        yield return Case("empty volume → the task's own Docker volume",
            (t, c) =>
            {
                t.Volumes.Add(new Volume { Name = "scratch" });
                c.MountPoints.Add(new MountPoint { SourceVolume = "scratch", ContainerPath = "/scratch" });
            },
            o => o.Mounts, new[] { new MountSpec(MountKind.Volume, "orch-0123456789ab-scratch", "/scratch", false) });
        yield return Case("task-scoped Docker volume → the task's own Docker volume",
            (t, c) =>
            {
                t.Volumes.Add(new Volume { Name = "cache", DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "task", Driver = "local" } });
                c.MountPoints.Add(new MountPoint { SourceVolume = "cache", ContainerPath = "/cache" });
            },
            o => o.Mounts, new[] { new MountSpec(MountKind.Volume, "orch-0123456789ab-cache", "/cache", false) });
        yield return Case("shared Docker volume → the volume by its own name",
            (t, c) =>
            {
                t.Volumes.Add(new Volume { Name = "pgdata", DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared" } });
                c.MountPoints.Add(new MountPoint { SourceVolume = "pgdata", ContainerPath = "/var/lib/postgresql" });
            },
            o => o.Mounts, new[] { new MountSpec(MountKind.Volume, "pgdata", "/var/lib/postgresql", false) });
        yield return Case("secret files → the container's secrets directory read-only at /run/secrets",
            (_, c) => c.Secrets.Add(new Secret { Name = "password", ValueFrom = "db-password", AsFile = true }),
            o => o.Mounts, new[] { new MountSpec(MountKind.Bind, "/run/orch/secrets/node-1/" + TaskId + "/app", "/run/secrets", true) });
        yield return Case("volumesFrom → the Docker name of the other container",
            (_, c) => c.VolumesFrom.Add(new VolumeFrom { SourceContainer = "db", ReadOnly = true }),
            o => o.VolumesFrom, new[] { Prefix + "db" + Suffix + ":ro" });
        yield return Case("tmpfs → size in bytes and its options",
            (_, c) => c.LinuxParameters = new LinuxParameters { Tmpfs = { new Tmpfs { ContainerPath = "/tmp", Size = 64, MountOptions = { "noexec", "mode=1777" } } } },
            o => (o.Tmpfs.Single().ContainerPath, o.Tmpfs.Single().SizeBytes), ("/tmp", 64L << 20));
        yield return Case("tmpfs options",
            (_, c) => c.LinuxParameters = new LinuxParameters { Tmpfs = { new Tmpfs { ContainerPath = "/tmp", Size = 64, MountOptions = { "noexec", "mode=1777" } } } },
            o => o.Tmpfs.Single().Options, new[] { "noexec", "mode=1777" });
        yield return Case("capabilities added",
            (_, c) => c.LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { "NET_ADMIN" }, Drop = { "ALL" } } },
            o => o.CapabilitiesAdded, new[] { "NET_ADMIN" });
        yield return Case("capabilities dropped",
            (_, c) => c.LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { "NET_ADMIN" }, Drop = { "ALL" } } },
            o => o.CapabilitiesDropped, new[] { "ALL" });
        yield return Case("an init always (initProcessEnabled or not)", (_, _) => { }, o => o.Init, true);
        yield return Case("shared memory size in MiB → bytes",
            (_, c) => c.LinuxParameters = new LinuxParameters { SharedMemorySize = 256 },
            o => o.SharedMemoryBytes, 256L << 20);
        yield return Case("no logConfiguration → the node's driver with its cap",
            (_, _) => { },
            o => LogOf(o), "local max-file=3,max-size=10m");
        yield return Case("json-file without max-size → the cap added",
            (_, c) => c.LogConfiguration = new LogConfiguration { LogDriver = "json-file", Options = { ["labels"] = "team" } },
            o => LogOf(o), "json-file labels=team,max-file=3,max-size=10m");
        yield return Case("local with its own max-size → as given",
            (_, c) => c.LogConfiguration = new LogConfiguration { LogDriver = "local", Options = { ["max-size"] = "1m" } },
            o => LogOf(o), "local max-size=1m");
        yield return Case("journald → as given",
            (_, c) => c.LogConfiguration = new LogConfiguration { LogDriver = "journald", Options = { ["tag"] = "web" } },
            o => LogOf(o), "journald tag=web");
        yield return Case("none → as given",
            (_, c) => c.LogConfiguration = new LogConfiguration { LogDriver = "none" },
            o => LogOf(o), "none");
        yield return Case("no network mode → bridge", (_, _) => { }, o => o.NetworkMode, "bridge");
        yield return Case("host", (t, _) => t.NetworkMode = "host", o => (o.NetworkMode, o.HostNetwork), ("host", true));
        yield return Case("none", (t, _) => t.NetworkMode = "none", o => o.NetworkMode, "none");
        yield return Case("awsvpc → the task's network, the container's name as its alias",
            (t, _) => t.NetworkMode = "awsvpc",
            o => (o.NetworkMode, string.Join(",", o.NetworkAliases)), ("orch-0123456789ab", "app"));
        yield return Case("links → Docker names with the alias",
            (_, c) => c.Links.Add(new[] { "db", "db:database" }),
            o => o.Links, new[] { Prefix + "db" + Suffix + ":db", Prefix + "db" + Suffix + ":database" });
        yield return Case("links outside bridge mode → none",
            (t, c) =>
            {
                t.NetworkMode = "awsvpc";
                c.Links.Add("db");
            },
            o => o.Links, Array.Empty<string>());
        yield return Case("hostname", (_, c) => c.Hostname = "web-1", o => o.Hostname, "web-1");
        yield return Case("hostname in host mode → none (Docker refuses it)",
            (t, c) =>
            {
                t.NetworkMode = "host";
                c.Hostname = "web-1";
            },
            o => o.Hostname, "");
        yield return Case("extra hosts → hostname:ip",
            (_, c) => c.ExtraHosts.Add(new HostEntry { Hostname = "db.local", IpAddress = "10.0.0.5" }),
            o => o.ExtraHosts, new[] { "db.local:10.0.0.5" });
        yield return Case("dns servers", (_, c) => c.DnsServers.Add("10.0.0.2"), o => o.DnsServers, new[] { "10.0.0.2" });
        yield return Case("dns search domains", (_, c) => c.DnsSearchDomains.Add("corp.example"), o => o.DnsSearchDomains, new[] { "corp.example" });
        yield return Case("user", (_, c) => c.User = "1000:1000", o => o.User, "1000:1000");
        yield return Case("working directory", (_, c) => c.WorkingDirectory = "/srv", o => o.WorkingDirectory, "/srv");
        yield return Case("ulimits",
            (_, c) => c.Ulimits.Add(new Ulimit { Name = "nofile", SoftLimit = 1024, HardLimit = 2048 }),
            o => o.Ulimits, new[] { new UlimitSpec("nofile", 1024, 2048) });
        yield return Case("read-only root file system", (_, c) => c.ReadonlyRootFilesystem = true, o => o.ReadonlyRootFilesystem, true);
        yield return Case("privileged", (_, c) => c.Privileged = true, o => o.Privileged, true);
        yield return Case("pseudo terminal → tty", (_, c) => c.PseudoTerminal = true, o => o.Tty, true);
        yield return Case("interactive → open stdin", (_, c) => c.Interactive = true, o => o.OpenStdin, true);
        yield return Case("nothing asked → Docker's defaults",
            (_, _) => { },
            o => (o.Mounts.Count, o.Tmpfs.Count, o.CapabilitiesAdded.Count, o.SharedMemoryBytes, o.User, o.ReadonlyRootFilesystem, o.Privileged, o.Tty, o.OpenStdin),
            (0, 0, 0, 0L, "", false, false, false, false));
    }

    [TestCaseSource(nameof(Fields))]
    public void A_field_becomes_what_docker_is_asked(Action<TaskDefinition, ContainerDefinition> change, Func<ContainerOptions, object> actual, object expected)
    {
        Assert.That(actual(OptionsOf(Command(change))), Is.EqualTo(expected));
    }

    [Test]
    public void Secrets_without_asFile_become_variables_by_their_name_and_print_without_their_value()
    {
        var command = Command((_, c) =>
        {
            c.Secrets.Add(new Secret { Name = "DB_PASSWORD", ValueFrom = "db-password" });
            c.Secrets.Add(new Secret { Name = "tls.key", ValueFrom = "tls:2", AsFile = true });
        });
        command.SecretValues["db-password"] = ByteString.CopyFromUtf8("hunter2");
        command.SecretValues["tls:2"] = ByteString.CopyFromUtf8("-----BEGIN KEY-----");
        var spec = ContainerSpecBuilder.Build(command, command.TaskDefinition.ContainerDefinitions[0], new AgentIdentity("default", "node-1", "127.0.0.1") { Workload = Settings });

        Assert.Multiple(() =>
        {
            Assert.That(spec.Options.SecretEnvironment, Is.EqualTo(new[] { new SecretVariable("DB_PASSWORD", "hunter2") }));
            Assert.That(spec.Environment, Is.Empty, "secrets are not plain variables");
            Assert.That(spec.Labels.Values, Has.None.Contains("hunter2"));
            Assert.That(spec.Options.SecretEnvironment.Single().ToString(), Is.EqualTo("DB_PASSWORD=(secret)"));
            Assert.That(spec.ToString() + spec.Options, Does.Not.Contain("hunter2"));
        });
    }
}
