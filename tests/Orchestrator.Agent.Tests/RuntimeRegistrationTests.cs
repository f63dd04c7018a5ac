using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Hosting;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Telemetry;

namespace Orchestrator.Agent.Tests;

/// <summary>Agent:Runtime and its settings checked at start, the runtime named in the agent's lines, and the node's runtime attributes.</summary>
internal sealed class RuntimeRegistrationTests
{
    private static AgentOptions Containerd(Action<ContainerdOptions>? change = null, string logDriver = "local")
    {
        var options = new AgentOptions { Runtime = "containerd", LogDriver = logDriver };
        change?.Invoke(options.Containerd);
        return options;
    }

    [Test]
    public void The_defaults_of_both_runtimes_are_valid()
    {
        Assert.DoesNotThrow(() => RuntimeRegistration.Validate(new AgentOptions()));
        Assert.DoesNotThrow(() => RuntimeRegistration.Validate(Containerd()));
    }

    private static IEnumerable<TestCaseData> BadSettings()
    {
        yield return new TestCaseData(new AgentOptions { Runtime = "podman" }, "Agent:Runtime must be \"docker\" or \"containerd\", not \"podman\"").SetName("an unknown runtime");
        yield return new TestCaseData(new AgentOptions { Runtime = "Docker" }, "Agent:Runtime must be \"docker\" or \"containerd\", not \"Docker\"").SetName("a runtime in another case");
        yield return new TestCaseData(new AgentOptions { DockerEndpoint = "docker.sock" }, "Agent:DockerEndpoint must be a URI (unix:///var/run/docker.sock, tcp://host:2375), not \"docker.sock\"").SetName("docker: an endpoint that is no URI");
        yield return new TestCaseData(Containerd(c => c.Socket = "run/containerd.sock"), "Agent:Containerd:Socket must be an absolute path, not \"run/containerd.sock\"").SetName("a relative socket");
        yield return new TestCaseData(Containerd(c => c.Namespace = "my namespace"), "Agent:Containerd:Namespace must be letters and digits, with '.', '_' or '-' between them (at most 76), not \"my namespace\"").SetName("a namespace with a space");
        yield return new TestCaseData(Containerd(c => c.Namespace = "-orch"), "Agent:Containerd:Namespace must be letters and digits, with '.', '_' or '-' between them (at most 76), not \"-orch\"").SetName("a namespace that starts with a dash");
        yield return new TestCaseData(Containerd(c => c.Namespace = ""), "Agent:Containerd:Namespace must be letters and digits, with '.', '_' or '-' between them (at most 76), not \"\"").SetName("an empty namespace");
        yield return new TestCaseData(Containerd(c => c.Subnet = "10.88.0.0"), "Agent:Containerd:Subnet must be an IPv4 network in CIDR form with room for containers (10.88.0.0/16; at most /30), not \"10.88.0.0\"").SetName("a subnet without a prefix");
        yield return new TestCaseData(Containerd(c => c.Subnet = "10.88.0.1/16"), "Agent:Containerd:Subnet must be an IPv4 network in CIDR form with room for containers (10.88.0.0/16; at most /30), not \"10.88.0.1/16\"").SetName("a subnet with host bits");
        yield return new TestCaseData(Containerd(c => c.Subnet = "10.88.0.0/32"), "Agent:Containerd:Subnet must be an IPv4 network in CIDR form with room for containers (10.88.0.0/16; at most /30), not \"10.88.0.0/32\"").SetName("a subnet too small");
        yield return new TestCaseData(Containerd(c => c.Subnet = "fd00::/64"), "Agent:Containerd:Subnet must be an IPv4 network in CIDR form with room for containers (10.88.0.0/16; at most /30), not \"fd00::/64\"").SetName("an IPv6 subnet");
        yield return new TestCaseData(Containerd(c => c.CniBinDirectory = "cni"), "Agent:Containerd:CniBinDirectory must be an absolute path, not \"cni\"").SetName("a relative CNI directory");
        yield return new TestCaseData(Containerd(c => c.InitPath = "tini"), "Agent:Containerd:InitPath must be an absolute path, not \"tini\"").SetName("a relative init");
        yield return new TestCaseData(Containerd(c => c.BridgeName = "orchestrator-cni0"), "Agent:Containerd:BridgeName must be a network interface name (letters, digits, '.', '_', '-'; at most 15), not \"orchestrator-cni0\"").SetName("a bridge name too long for Linux");
        yield return new TestCaseData(Containerd(c => c.Snapshotter = ""), "Agent:Containerd:Snapshotter must name a snapshotter of containerd (overlayfs, native...), not \"\"").SetName("no snapshotter");
        yield return new TestCaseData(Containerd(c => c.DataDirectory = " "), "Agent:Containerd:DataDirectory must not be empty (a path, relative to Agent:StateDirectory or absolute)").SetName("no data directory");
        yield return new TestCaseData(Containerd(logDriver: "journald"), "Agent:LogDriver journald is Docker's: with Agent:Runtime containerd it must be local, json-file or none").SetName("a default log driver only Docker has");
    }

    [TestCaseSource(nameof(BadSettings))]
    public void A_bad_setting_is_refused_with_its_name(AgentOptions options, string message) =>
        Assert.That(Assert.Throws<FormatException>(() => RuntimeRegistration.Validate(options))!.Message, Is.EqualTo(message));

    [Test]
    public void Containerd_settings_are_not_checked_for_docker() =>
        Assert.DoesNotThrow(() => RuntimeRegistration.Validate(new AgentOptions { Containerd = { Socket = "relative", Subnet = "x" }, LogDriver = "journald" }));

    [Test]
    public void The_runtime_is_named_with_where_it_is()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RuntimeRegistration.Describe(new AgentOptions()), Is.EqualTo("Docker at unix:///var/run/docker.sock"));
            Assert.That(RuntimeRegistration.Describe(Containerd(c => c.Socket = "/tmp/c/containerd.sock")), Is.EqualTo("containerd at /tmp/c/containerd.sock (namespace orchestrator)"));
        });
    }

    [Test]
    public void The_data_directory_is_under_the_state_directory_unless_absolute()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RuntimeRegistration.ContainerdDataDirectory(new AgentOptions { StateDirectory = "/var/lib/agent" }), Is.EqualTo("/var/lib/agent/containerd"));
            Assert.That(RuntimeRegistration.ContainerdDataDirectory(new AgentOptions { StateDirectory = "/var/lib/agent", Containerd = { DataDirectory = "/srv/ctr" } }), Is.EqualTo("/srv/ctr"));
        });
    }

    [Test]
    public void Docker_is_registered_timed()
    {
        var services = new ServiceCollection().AddSingleton<AgentMeter>();
        services.AddContainerRuntime(new AgentOptions());
        using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<IContainerRuntime>();
        Assert.Multiple(() =>
        {
            Assert.That(runtime, Is.TypeOf<MeteredRuntime>());
            Assert.That(runtime.Capabilities, Is.EqualTo(RuntimeCapabilities.OfDocker));
        });
    }

    private static readonly RuntimeInfo Info = new(2, 1L << 30, "linux", "x86_64", "1.6.20");

    [Test]
    public void A_containerd_node_says_its_runtime_and_version_and_nothing_of_docker()
    {
        var attributes = NodeAttributes.Of(RuntimeCapabilities.OfContainerd, Info, new AgentOptions { Attributes = "zone=a" });
        Assert.That(attributes, Is.EquivalentTo(new Dictionary<string, string>
        {
            ["os"] = "linux",
            ["arch"] = "x86_64",
            ["zone"] = "a",
            ["runtime"] = "containerd",
            ["runtime-version"] = "1.6.20",
        }));
    }

    [Test]
    public void A_docker_node_keeps_its_docker_attributes_and_says_its_runtime()
    {
        var attributes = NodeAttributes.Of(RuntimeCapabilities.OfDocker, Info with { Version = "26.1.5", LiveRestore = true }, new AgentOptions());
        Assert.That(
            (attributes["docker-version"], attributes["docker-live-restore"], attributes["runtime"], attributes["runtime-version"]),
            Is.EqualTo(("26.1.5", "true", "docker", "26.1.5")));
    }

    [Test]
    public void The_operator_cannot_make_a_node_say_another_runtime()
    {
        var attributes = NodeAttributes.Of(RuntimeCapabilities.OfContainerd, Info, new AgentOptions { Attributes = "runtime=docker,runtime-version=99" });
        Assert.That((attributes["runtime"], attributes["runtime-version"]), Is.EqualTo(("containerd", "1.6.20")));
    }
}
