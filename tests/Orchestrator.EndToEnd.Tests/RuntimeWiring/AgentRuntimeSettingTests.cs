using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests.RuntimeWiring;

/// <summary>
/// The agent process with Agent:Runtime: a bad setting stops it at start with one line, and with
/// containerd not there it names containerd and its socket while it waits, as it does for Docker.
/// </summary>
internal sealed class AgentRuntimeSettingTests
{
    private string _directory = null!;

    [SetUp]
    public void Create() => _directory = Directory.CreateTempSubdirectory("orchestrator-runtime-setting-").FullName;

    [TearDown]
    public void Remove() => Directory.Delete(_directory, recursive: true);

    private DaemonProcess StartAgent(params string[] settings) => DaemonProcess.Start("orchestrator-agent.dll",
    [
        // No scheduler answers there: the agent never gets that far in these tests.
        $"--Agent:SchedulerAddress=http://127.0.0.1:{DaemonProcess.FreePort()}",
        $"--Agent:StateDirectory={Path.Combine(_directory, "state")}",
        $"--Agent:SecretsDirectory={Path.Combine(_directory, "secrets")}",
        "--Agent:NodeName=runtime-setting",
        "--Agent:MetricsListen=",
        .. settings,
    ]);

    [TestCase("--Agent:Runtime=podman", "orchestrator-agent: bad setting: Agent:Runtime must be \"docker\" or \"containerd\", not \"podman\"")]
    [TestCase("--Agent:Containerd:Namespace=a b", "orchestrator-agent: bad setting: Agent:Containerd:Namespace must be letters and digits, with '.', '_' or '-' between them (at most 76), not \"a b\"")]
    [TestCase("--Agent:Containerd:Subnet=10.88.0.0", "orchestrator-agent: bad setting: Agent:Containerd:Subnet must be an IPv4 network in CIDR form with room for containers (10.88.0.0/16; at most /30), not \"10.88.0.0\"")]
    [TestCase("--Agent:Containerd:Socket=containerd.sock", "orchestrator-agent: bad setting: Agent:Containerd:Socket must be an absolute path, not \"containerd.sock\"")]
    public void A_bad_runtime_setting_stops_the_agent_with_one_line_and_exit_code_1(string setting, string line)
    {
        // The containerd settings are checked only when containerd is the runtime.
        using var agent = StartAgent(setting.StartsWith("--Agent:Containerd:", StringComparison.Ordinal) ? ["--Agent:Runtime=containerd", setting] : [setting]);
        Assert.Multiple(() =>
        {
            Assert.That(agent.WaitForExit(), Is.EqualTo(1));
            Assert.That(agent.StandardError, Is.EqualTo(new[] { line }));
        });
    }

    [Test]
    public async Task Without_containerd_the_agent_names_it_and_its_socket_and_waits()
    {
        var socket = Path.Combine(_directory, "no-containerd.sock");
        using var agent = StartAgent("--Agent:Runtime=containerd", $"--Agent:Containerd:Socket={socket}");
        string Output() => string.Join("\n", agent.StandardOutput);
        await Polling.UntilAsync(
            () => Task.FromResult(Output().Contains($"containerd is not reachable at {socket}", StringComparison.Ordinal) || agent.HasExited),
            "the agent says containerd is not reachable",
            TimeSpan.FromSeconds(60),
            Output);
        Assert.Multiple(() =>
        {
            Assert.That(agent.HasExited, Is.False, "it waits for containerd, as for Docker");
            Assert.That(Output(), Does.Contain($"runtime containerd at {socket} (namespace orchestrator)"), "the start line");
            Assert.That(Output(), Does.Contain("retrying until it answers"));
            Assert.That(Output(), Does.Not.Contain("Docker"));
        });
        agent.Terminate();
        Assert.That(agent.WaitForExit(), Is.Zero);
    }
}
