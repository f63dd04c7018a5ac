using Orchestrator.Agent.Runtime;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests.RuntimeContract;

/// <summary>
/// The runtime contract on a containerd of the fixture's own (own socket, root and state, the test
/// image imported from Docker), composed as the agent composes it for Agent:Runtime=containerd:
/// ContainerdRuntime with its images, CNI network, volumes and log rotation, health checks supplied by
/// ProbedRuntime. Its bridge and subnet are its own, so it clashes with no agent on this host.
/// </summary>
[TestFixture]
[Category("Containerd")]
internal sealed class ContainerdRuntimeContractTests : RuntimeContractTests
{
    private const string BridgeName = "orchctr77";
    private const string Subnet = "10.219.77.0/24";

    private readonly List<ContainerdComposition> _composed = [];
    private ContainerdProcess? _containerd;

    protected override bool SeparatesOutputStreams => false;

    protected override async Task StartEngineAsync()
    {
        Docker.RequireReady();
        _containerd = await ContainerdProcess.StartAsync();
        _containerd.ImportFromDocker();
    }

    protected override void StopEngine()
    {
        foreach (var composed in _composed)
        {
            composed.Dispose();
        }

        _composed.Clear();
        _containerd?.Dispose();

        // The bridge the CNI plugin made for this fixture's subnet: nothing uses it any more.
        ShellCommand.Run("ip", "link", "delete", BridgeName);
    }

    protected override IContainerRuntime NewRuntime()
    {
        // Every runtime object over the same data directory, as one agent restarted again and again.
        var composed = ContainerdComposition.Compose(_containerd!.Socket, Path.Combine(_containerd.Directory, "agent"), BridgeName, Subnet);
        _composed.Add(composed);
        return composed.Runtime;
    }

    protected override IReadOnlyList<string> EngineLeftovers(string prefix)
    {
        var left = new List<string>();
        foreach (var (what, arguments) in new[] { ("container", new[] { "containers", "ls", "-q" }), ("task", ["tasks", "ls", "-q"]), ("snapshot", ["snapshots", "ls"]) })
        {
            var (code, output) = _containerd!.Ctr(arguments);
            Assert.That(code, Is.Zero, $"ctr {string.Join(' ', arguments)}: {output}");
            left.AddRange(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(line => line.Contains(prefix, StringComparison.Ordinal)).Select(line => $"{what} {line}"));
        }

        if (Directory.Exists("/var/run/netns"))
        {
            left.AddRange(Directory.GetFiles("/var/run/netns").Select(Path.GetFileName).Where(name => name!.Contains(prefix, StringComparison.Ordinal)).Select(name => $"netns {name}"));
        }

        return left;
    }
}
