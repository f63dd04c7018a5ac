using System.Net;
using System.Net.Sockets;
using System.Text;
using Orchestrator.Agent.Runtime;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests.Containerd;

/// <summary>
/// <see cref="Agent.Runtime.Containerd.ContainerdRuntime"/> with a container on a CNI bridge of the
/// test's own: its port published, its network namespace made with it and removed with it.
/// </summary>
internal sealed class ContainerdRuntimeBridgeTests
{
    private const string Bridge = "orch-core0";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private ContainerdRuntimeFixture _fixture = null!;

    [OneTimeSetUp]
    public async Task StartContainerd() => _fixture = await ContainerdRuntimeFixture.StartAsync(options =>
    {
        options.BridgeName = Bridge;
        options.Subnet = "10.213.7.0/24";
    });

    [OneTimeTearDown]
    public void StopContainerd()
    {
        _fixture?.Dispose();

        // The bridge plugin makes the bridge and never removes it.
        ShellCommand.Run("ip", "link", "delete", Bridge);
    }

    [Test]
    public async Task ABridgedContainerServesOnItsPublishedPortAndLeavesNoNamespace()
    {
        var runtime = _fixture.Runtime;
        var hostPort = FreePort();
        var label = ("orchestrator.test", Guid.NewGuid().ToString("N"));
        var spec = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("bridge"), label, "httpd", "-f", "-p", "80", "-h", "/www") with
        {
            Ports = [new PortSpec(80, hostPort, false, "127.0.0.1")],
        };
        spec = spec with { Options = spec.Options with { NetworkMode = "bridge" } };
        using var bound = new CancellationTokenSource(Bound);
        try
        {
            await runtime.CreateAsync(spec, bound.Token);
            await runtime.StartAsync(spec.Name, bound.Token);
            var namespaces = ShellCommand.Run("ip", "netns", "list").Output;
            Assert.That(namespaces, Does.Contain(spec.Name), "a network namespace of its own");

            var info = await runtime.InspectAsync(spec.Name, bound.Token);
            Assert.That(info!.Running, Is.True);
            Assert.That(info.Ports, Is.EqualTo(new[] { new PortSpec(80, hostPort, false, "127.0.0.1") }));

            // Inside: the server answers on the container's own network.
            var inside = await ExecOutputAsync(runtime, spec.Name, ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://127.0.0.1:80/ && exit 0; sleep 0.5; done; exit 1"], bound.Token);
            Assert.That(inside, Is.Not.Empty);

            // From the host, through the published port.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            string? fromHost = null;
            await Polling.UntilAsync(async () =>
            {
                try
                {
                    fromHost = await http.GetStringAsync($"http://127.0.0.1:{hostPort}/", bound.Token);
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, $"127.0.0.1:{hostPort} answers", Bound);
            Assert.That(fromHost, Is.EqualTo(inside));
        }
        finally
        {
            await runtime.RemoveAsync(spec.Name, CancellationToken.None);
        }

        Assert.That(ShellCommand.Run("ip", "netns", "list").Output, Does.Not.Contain(spec.Name));
        Assert.That(await runtime.InspectAsync(spec.Name, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task WhatACrashLeftOfAGoneContainerIsSweptAtTheNextStart()
    {
        var label = ("orchestrator.test", Guid.NewGuid().ToString("N"));
        var spec = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("leftover"), label, "sleep", "600") with
        {
            Ports = [new PortSpec(80, FreePort(), false, "127.0.0.1")],
        };
        spec = spec with { Options = spec.Options with { NetworkMode = "bridge" } };
        using var bound = new CancellationTokenSource(Bound);
        await _fixture.Runtime.CreateAsync(spec, bound.Token);
        await _fixture.Runtime.StartAsync(spec.Name, bound.Token);

        // The agent dies; the container goes behind its back (an operator's ctr, or a crash mid-removal).
        Assert.That(_fixture.Containerd.Ctr("tasks", "kill", "-s", "SIGKILL", spec.Name).ExitCode, Is.Zero);
        await Polling.UntilAsync(() => Task.FromResult(_fixture.Containerd.Ctr("tasks", "delete", spec.Name).ExitCode == 0), "the killed task deleted", Bound);
        Assert.That(_fixture.Containerd.Ctr("containers", "delete", spec.Name).ExitCode, Is.Zero);
        Assert.That(ShellCommand.Run("ip", "netns", "list").Output, Does.Contain(spec.Name), "left behind before the sweep");

        // And a create that died with its agent left its lease (which holds its snapshot from the collector).
        Assert.That(_fixture.Containerd.Ctr("leases", "create", "--id", $"orchestrator-create-{spec.Name}-crashed").ExitCode, Is.Zero);

        await _fixture.NewRuntime().RemoveLeftoversAsync(bound.Token);

        Assert.That(ShellCommand.Run("ip", "netns", "list").Output, Does.Not.Contain(spec.Name));
        Assert.That(ShellCommand.Run("iptables-save").Output, Does.Not.Contain(spec.Name));
        Assert.That(_fixture.Containerd.Ctr("snapshots", "ls").Output, Does.Not.Contain(spec.Name));
        Assert.That(_fixture.Containerd.Ctr("leases", "ls").Output, Does.Not.Contain("orchestrator-create-"), "no create's lease outlives the sweep");
        Assert.That(Directory.EnumerateFileSystemEntries(_fixture.DataDirectory, spec.Name, SearchOption.AllDirectories), Is.Empty, "no file of it under the runtime's data directory");
    }

    private static async Task<string> ExecOutputAsync(IContainerRuntime runtime, string id, IReadOnlyList<string> command, CancellationToken cancellation)
    {
        await using var process = await runtime.ExecAsync(id, new ExecSpec(command, false, false, 0, 0, []), cancellation);
        var output = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var (stream, count) = await process.ReadAsync(buffer, cancellation);
            if (count == 0)
            {
                break;
            }

            if (stream == OutputStream.Stdout)
            {
                output.Append(Encoding.UTF8.GetString(buffer, 0, count));
            }
        }

        var state = await process.InspectAsync(cancellation);
        Assert.That(state.ExitCode, Is.Zero, $"{string.Join(' ', command)}: {output}");
        return output.ToString();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
