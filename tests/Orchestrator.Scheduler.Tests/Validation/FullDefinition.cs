using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>
/// A valid task definition that sets every field issue 13 added, each in a way the validation accepts:
/// the base that the table-driven tests spoil one field at a time, and what the API test registers and
/// describes back. Containers: [0] app, [1] db, [2] migrate, [3] logger.
/// </summary>
internal static class FullDefinition
{
    public static RegisterTaskDefinitionRequest Request() => new()
    {
        Family = "shop",
        NetworkMode = "bridge",
        Volumes =
        {
            new Volume { Name = "data", Host = new HostVolumeProperties { SourcePath = "/srv/shop/data" } },
            new Volume { Name = "cache" },
            new Volume
            {
                Name = "pgdata",
                DockerVolumeConfiguration = new DockerVolumeConfiguration
                {
                    Scope = "shared",
                    Autoprovision = true,
                    Driver = "local",
                    DriverOpts = { ["type"] = "tmpfs", ["device"] = "tmpfs", ["o"] = "size=100m,uid=999" },
                    Labels = { ["team"] = "shop" },
                },
            },
            new Volume { Name = "scratch", DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "task", Driver = "vieux/sshfs:latest" } },
            new Volume { Name = "unused" },
        },
        PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:zone in [a, b] && !(name == node-3)" } },
        ContainerDefinitions =
        {
            new ContainerDefinition
            {
                Name = "app",
                Image = "orchestrator-test/busybox",
                Memory = 256,
                PortMappings = { new PortMapping { ContainerPort = 8080 } },
                HealthCheck = new HealthCheck { Command = { "CMD-SHELL", "wget -q -O- localhost:8080/health" } },
                MountPoints =
                {
                    new MountPoint { SourceVolume = "data", ContainerPath = "/var/lib/shop" },
                    new MountPoint { SourceVolume = "cache", ContainerPath = "/cache", ReadOnly = true },
                },
                LinuxParameters = new LinuxParameters
                {
                    Capabilities = new KernelCapabilities { Add = { "NET_BIND_SERVICE", "CHOWN" }, Drop = { "ALL" } },
                    InitProcessEnabled = true,
                    SharedMemorySize = 128,
                    Tmpfs = { new Tmpfs { ContainerPath = "/tmp", Size = 64, MountOptions = { "noexec", "nosuid", "mode=1777", "uid=1000", "nr_inodes=4k" } } },
                },
                Secrets =
                {
                    new Secret { Name = "DB_PASSWORD", ValueFrom = "db-password" },
                    new Secret { Name = "api-key", ValueFrom = "api.key:2", AsFile = true },
                },
                Environment = { new EnvironmentVariable { Name = "DB_HOST", Value = "database" } },
                LogConfiguration = new LogConfiguration { LogDriver = "json-file", Options = { ["max-size"] = "10m", ["max-file"] = "3", ["compress"] = "true" } },
                Links = { "db:database" },
                Hostname = "shop-app",
                ExtraHosts =
                {
                    new HostEntry { Hostname = "metrics.internal", IpAddress = "10.0.0.5" },
                    new HostEntry { Hostname = "v6.internal", IpAddress = "fd00::5" },
                },
                DnsServers = { "10.0.0.2", "2001:db8::53" },
                DnsSearchDomains = { "corp.example.com" },
                User = "1000:1000",
                WorkingDirectory = "/srv",
                Ulimits =
                {
                    new Ulimit { Name = "nofile", SoftLimit = 1024, HardLimit = 4096 },
                    new Ulimit { Name = "core", SoftLimit = 0, HardLimit = ContainerRuntimeOptionsValidator.Unlimited },
                },
                ReadonlyRootFilesystem = true,
                StartTimeoutSeconds = 120,
                PseudoTerminal = true,
                Interactive = true,
                DependsOn =
                {
                    new ContainerDependency { ContainerName = "db", Condition = "HEALTHY" },
                    new ContainerDependency { ContainerName = "migrate", Condition = "SUCCESS" },
                },
                RestartPolicy = new RestartPolicy { Enabled = true, IgnoredExitCodes = { 0, 143 }, RestartAttemptPeriodSeconds = 60 },
            },
            new ContainerDefinition
            {
                Name = "db",
                Image = "orchestrator-test/busybox",
                Memory = 512,
                HealthCheck = new HealthCheck { Command = { "CMD", "pg_isready" } },
                MountPoints = { new MountPoint { SourceVolume = "pgdata", ContainerPath = "/var/lib/postgresql/data" } },
                User = "postgres",
                Ulimits = { new Ulimit { Name = "nproc", SoftLimit = ContainerRuntimeOptionsValidator.Unlimited, HardLimit = ContainerRuntimeOptionsValidator.Unlimited } },
            },
            new ContainerDefinition
            {
                Name = "migrate",
                Image = "orchestrator-test/busybox",
                Memory = 64,
                Essential = false,
                Command = { "migrate", "up" },
                VolumesFrom = { new VolumeFrom { SourceContainer = "db", ReadOnly = true } },
                DependsOn = { new ContainerDependency { ContainerName = "db", Condition = "START" } },
                Privileged = true,
                LogConfiguration = new LogConfiguration { LogDriver = "none" },
                StartTimeoutSeconds = 600,
            },
            new ContainerDefinition
            {
                Name = "logger",
                Image = "orchestrator-test/busybox",
                MemoryReservation = 32,
                Essential = false,
                LogConfiguration = new LogConfiguration { LogDriver = "local", Options = { ["max-size"] = "5m", ["max-file"] = "1", ["compress"] = "false", ["mode"] = "non-blocking", ["max-buffer-size"] = "4m" } },
                DependsOn = { new ContainerDependency { ContainerName = "app", Condition = "START" } },
                RestartPolicy = new RestartPolicy { Enabled = true },
            },
        },
    };

    /// <summary>Refuses <paramref name="spoil"/>ed <see cref="Request"/>; the message is what the test case returns.</summary>
    public static TestCaseData Refused(string name, Action<RegisterTaskDefinitionRequest> spoil, string message)
    {
        var request = Request();
        spoil(request);
        return new TestCaseData(request).Returns(message).SetName(name);
    }

    /// <summary>Accepts <paramref name="change"/>d <see cref="Request"/>.</summary>
    public static TestCaseData Accepted(string name, Action<RegisterTaskDefinitionRequest> change)
    {
        var request = Request();
        change(request);
        return new TestCaseData(request).SetName(name);
    }

    /// <summary>The message of the InvalidArgument the request gets.</summary>
    public static string RefusalOf(RegisterTaskDefinitionRequest request)
    {
        var error = Assert.Throws<RequestException>(() => TaskDefinitionValidator.Validate(request))!;
        Assert.That(error.Kind, Is.EqualTo(RequestErrorKind.InvalidArgument));
        return error.Message;
    }
}
