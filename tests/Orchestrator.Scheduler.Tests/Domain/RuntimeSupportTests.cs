using Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Tests.Domain;

/// <summary>What only Docker runs, named by the fields the user wrote; everything else runs on both runtimes.</summary>
public sealed class RuntimeSupportTests
{
    private static TaskDefinition Definition(Action<ContainerDefinition>? web = null, string networkMode = "", params Volume[] volumes)
    {
        var container = new ContainerDefinition { Name = "web", Image = "busybox" };
        web?.Invoke(container);
        var definition = new TaskDefinition { NetworkMode = networkMode, ContainerDefinitions = { new ContainerDefinition { Name = "db", Image = "busybox" }, container } };
        definition.Volumes.AddRange(volumes);
        return definition;
    }

    private static Volume DockerVolume(string driver, params (string Key, string Value)[] options)
    {
        var configuration = new DockerVolumeConfiguration { Scope = "shared", Driver = driver };
        foreach (var (key, value) in options)
        {
            configuration.DriverOpts[key] = value;
        }

        return new Volume { Name = "data", DockerVolumeConfiguration = configuration };
    }

    private static LogConfiguration Log(string driver) => new() { LogDriver = driver };

    private static IEnumerable<TestCaseData> Definitions()
    {
        // What runs on both.
        yield return new TestCaseData(Definition(), Array.Empty<string>()).SetName("plain: both");
        foreach (var mode in new[] { "bridge", "host", "none" })
        {
            yield return new TestCaseData(Definition(networkMode: mode), Array.Empty<string>()).SetName($"networkMode {mode}: both");
        }

        foreach (var driver in new[] { "local", "json-file", "none" })
        {
            yield return new TestCaseData(Definition(c => c.LogConfiguration = Log(driver)), Array.Empty<string>()).SetName($"logDriver {driver}: both");
        }

        yield return new TestCaseData(Definition(c => c.LogConfiguration = new LogConfiguration()), Array.Empty<string>()).SetName("a log configuration without a driver (the node's default): both");
        yield return new TestCaseData(Definition(volumes: DockerVolume("local")), Array.Empty<string>()).SetName("a local docker volume: both");
        yield return new TestCaseData(Definition(volumes: DockerVolume("")), Array.Empty<string>()).SetName("a docker volume of the default driver: both");
        yield return new TestCaseData(Definition(volumes: [new Volume { Name = "scratch" }, new Volume { Name = "h", Host = new HostVolumeProperties { SourcePath = "/srv" } }]), Array.Empty<string>())
            .SetName("task-scoped and host volumes: both");
        yield return new TestCaseData(Definition(c =>
        {
            c.HealthCheck = new HealthCheck { Command = { "CMD", "true" } };
            c.PortMappings.Add(new PortMapping { ContainerPort = 80 });
            c.LinuxParameters = new LinuxParameters { InitProcessEnabled = true, Capabilities = new KernelCapabilities { Add = { "NET_ADMIN" } } };
            c.ReadonlyRootFilesystem = true;
            c.Ulimits.Add(new Ulimit { Name = "nofile", SoftLimit = 1024, HardLimit = 2048 });
            c.User = "1000:1000";
        }), Array.Empty<string>()).SetName("health check, ports, init, capabilities, read-only root, ulimits, user: both");

        // What only Docker runs, each by its field.
        yield return new TestCaseData(Definition(networkMode: "awsvpc"), new[] { "networkMode awsvpc" }).SetName("awsvpc");
        yield return new TestCaseData(Definition(c => c.Links.Add("db")), new[] { "containerDefinitions[web].links" }).SetName("links");
        yield return new TestCaseData(Definition(c => c.VolumesFrom.Add(new VolumeFrom { SourceContainer = "db" })), new[] { "containerDefinitions[web].volumesFrom" }).SetName("volumesFrom");
        yield return new TestCaseData(Definition(c => c.LogConfiguration = Log("journald")), new[] { "containerDefinitions[web].logConfiguration.logDriver journald" }).SetName("logDriver journald");
        yield return new TestCaseData(Definition(c => c.LogConfiguration = Log("syslog")), new[] { "containerDefinitions[web].logConfiguration.logDriver syslog" }).SetName("logDriver syslog");
        yield return new TestCaseData(Definition(c => c.PseudoTerminal = true), new[] { "containerDefinitions[web].pseudoTerminal" }).SetName("pseudoTerminal");
        yield return new TestCaseData(Definition(c => c.Interactive = true), new[] { "containerDefinitions[web].interactive" }).SetName("interactive");
        yield return new TestCaseData(Definition(c => c.Privileged = true), new[] { "containerDefinitions[web].privileged" }).SetName("privileged");
        yield return new TestCaseData(Definition(volumes: DockerVolume("nfs")), new[] { "volumes[data].dockerVolumeConfiguration.driver nfs" }).SetName("a volume driver other than local");
        yield return new TestCaseData(Definition(volumes: DockerVolume("local", ("type", "tmpfs"))), new[] { "volumes[data].dockerVolumeConfiguration.driverOpts" }).SetName("driverOpts of the local driver");

        // Several: in the order of the definition, each named once.
        yield return new TestCaseData(
            Definition(c => { c.Links.Add("db"); c.Interactive = true; c.PseudoTerminal = true; }, "awsvpc", DockerVolume("rexray/ebs", ("size", "1"))),
            new[]
            {
                "networkMode awsvpc",
                "containerDefinitions[web].links",
                "containerDefinitions[web].pseudoTerminal",
                "containerDefinitions[web].interactive",
                "volumes[data].dockerVolumeConfiguration.driver rexray/ebs",
                "volumes[data].dockerVolumeConfiguration.driverOpts",
            }).SetName("several, in the definition's order");
    }

    [TestCaseSource(nameof(Definitions))]
    public void Docker_only_features_are_named_by_their_fields(TaskDefinition definition, string[] features) =>
        Assert.That(RuntimeSupport.DockerOnlyFeatures(definition), Is.EqualTo(features));

    [Test]
    public void A_definition_that_runs_on_both_allocates_no_list() =>
        Assert.That(RuntimeSupport.DockerOnlyFeatures(Definition()), Is.SameAs(RuntimeSupport.DockerOnlyFeatures(Definition(networkMode: "host"))));

    [Test]
    public void The_explanation_names_the_runtime_the_features_and_docker() =>
        Assert.That(
            RuntimeSupport.Explain("containerd", ["networkMode awsvpc", "containerDefinitions[web].links"]),
            Is.EqualTo("runtime containerd cannot run networkMode awsvpc, containerDefinitions[web].links (needs docker)"));

    [TestCase(null, ExpectedResult = true)]
    [TestCase("docker", ExpectedResult = true)]
    [TestCase("containerd", ExpectedResult = false)]
    public bool A_node_runs_docker_unless_its_runtime_attribute_says_otherwise(string? runtime) =>
        RuntimeSupport.RunsDocker(runtime is null ? new Dictionary<string, string> { ["zone"] = "a" } : new Dictionary<string, string> { ["runtime"] = runtime });
}
