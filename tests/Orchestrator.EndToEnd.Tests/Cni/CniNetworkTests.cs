using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Cni;
using Orchestrator.Tests.Shared;

namespace Orchestrator.EndToEnd.Tests.Cni;

/// <summary>
/// The real CNI plugins of /usr/lib/cni, run by <see cref="CniNetwork"/> as root, on a bridge and subnet of
/// the tests' own; a busybox httpd run inside the namespace stands in for the container.
/// </summary>
[NonParallelizable]
internal sealed class CniNetworkTests
{
    private const string Bridge = "orch-test0";
    private const string Subnet = "10.199.0.0/24";
    private const string PluginDirectory = "/usr/lib/cni";

    private string _root = "";
    private string _stateDirectory = "";
    private readonly List<string> _containers = [];
    private readonly List<Process> _listeners = [];

    [OneTimeSetUp]
    public void RequireRootAndPlugins()
    {
        if (!Environment.IsPrivilegedProcess || !File.Exists(Path.Combine(PluginDirectory, "bridge")) || ShellCommand.Run("ip", "-V").ExitCode != 0 || !File.Exists("/bin/busybox"))
        {
            Assert.Ignore("needs root, the CNI plugins in /usr/lib/cni, iproute2 and busybox");
        }
    }

    [OneTimeTearDown]
    public void RemoveBridge()
    {
        // The bridge plugin makes the bridge once and leaves it for the next container, as nerdctl's does.
        if (ShellCommand.Run("ip", "link", "show", Bridge).ExitCode == 0)
        {
            ShellCommand.Run("ip", "link", "delete", Bridge);
        }
    }

    [SetUp]
    public void CreateStateDirectory()
    {
        _root = Directory.CreateTempSubdirectory("orchestrator-cni-").FullName;
        _stateDirectory = Path.Combine(_root, "state");
        File.WriteAllText(Path.Combine(_root, "index.html"), "hello from the namespace\n");
    }

    [TearDown]
    public async Task CleanUp()
    {
        foreach (var listener in _listeners)
        {
            listener.Kill(entireProcessTree: true);
            await listener.WaitForExitAsync();
            listener.Dispose();
        }
        _listeners.Clear();
        var network = Network();
        foreach (var id in _containers)
        {
            try
            {
                await network.TearDownAsync(id, CancellationToken.None);
            }
            finally
            {
                ShellCommand.Run("ip", "netns", "delete", NetworkNamespaces.NameFor(id));
            }
        }
        _containers.Clear();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task A_published_port_is_reachable_on_localhost_and_on_the_bridge_and_gone_after_teardown()
    {
        var id = NewContainer();
        var port = FreePort();
        var network = Network();

        var sandbox = await network.SetUpAsync(id, "bridge", [new PortSpec(80, port, false, "")], CancellationToken.None);

        Assert.That(sandbox.NetworkNamespacePath, Is.EqualTo("/run/netns/" + NetworkNamespaces.NameFor(id)));
        Assert.That(File.Exists(sandbox.NetworkNamespacePath), Is.True);
        Assert.That(sandbox.Address, Is.Not.Null);
        Assert.That(IPNetwork.Parse(Subnet).Contains(sandbox.Address!), Is.True, sandbox.Address!.ToString());
        Assert.That(sandbox.Ports, Is.EqualTo(new[] { new PortSpec(80, port, false, "") }));
        Assert.That(Leases(), Is.EqualTo(new[] { sandbox.Address }));
        Assert.That(IptablesRules(), Does.Contain(id));

        Serve(id, 80);
        Assert.That(await FetchAsync($"http://127.0.0.1:{port}/"), Is.EqualTo("hello from the namespace\n"));
        Assert.That(await FetchAsync($"http://10.199.0.1:{port}/"), Is.EqualTo("hello from the namespace\n"), "the bridge's address is one of the host's");
        Assert.That(await FetchAsync($"http://{sandbox.Address}:80/"), Is.EqualTo("hello from the namespace\n"));
        StopListeners();

        await network.TearDownAsync(id, CancellationToken.None);

        AssertNothingLeft(id, sandbox.Address, port);
    }

    [Test]
    public async Task A_port_published_on_localhost_only_is_not_on_the_other_addresses()
    {
        var id = NewContainer();
        var port = FreePort();
        var network = Network();

        await network.SetUpAsync(id, "bridge", [new PortSpec(80, port, false, "127.0.0.1")], CancellationToken.None);
        Serve(id, 80);

        Assert.That(await FetchAsync($"http://127.0.0.1:{port}/"), Is.EqualTo("hello from the namespace\n"));
        Assert.That(async () => await OpenAsync(IPAddress.Parse("10.199.0.1"), port), Throws.InstanceOf<SocketException>());
    }

    [Test]
    public async Task Host_port_zero_is_given_a_free_port()
    {
        var id = NewContainer();
        var sandbox = await Network().SetUpAsync(id, "bridge", [new PortSpec(80, 0, false, "127.0.0.1")], CancellationToken.None);

        var port = sandbox.Ports.Single().HostPort;
        Assert.That(port, Is.Not.Zero);
        Serve(id, 80);
        Assert.That(await FetchAsync($"http://127.0.0.1:{port}/"), Is.EqualTo("hello from the namespace\n"));
    }

    [Test]
    public async Task Mode_none_has_only_loopback_up()
    {
        var id = NewContainer();
        var network = Network();

        var sandbox = await network.SetUpAsync(id, "none", [new PortSpec(80, FreePort(), false, "")], CancellationToken.None);

        Assert.That(sandbox.Address, Is.Null);
        Assert.That(sandbox.Ports, Is.Empty, "nothing is published without a network");
        var links = ShellCommand.Run("ip", "netns", "exec", NetworkNamespaces.NameFor(id), "ip", "-o", "link", "show");
        Assert.That(links.ExitCode, Is.Zero, links.Output);
        var lines = links.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), links.Output);
        Assert.That(lines[0], Does.Contain(" lo: ").And.Contain("UP"));
        Assert.That(Leases(), Is.Empty);

        await network.TearDownAsync(id, CancellationToken.None);
        Assert.That(File.Exists(sandbox.NetworkNamespacePath), Is.False);
    }

    [Test]
    public async Task Mode_host_makes_nothing()
    {
        var id = NewContainer();
        var ports = new[] { new PortSpec(8080, 8080, false, "") };

        var sandbox = await Network().SetUpAsync(id, "host", ports, CancellationToken.None);

        Assert.That(sandbox, Is.EqualTo(new SandboxNetwork(null, null, ports)).Using<SandboxNetwork>((a, b) => a.NetworkNamespacePath == b.NetworkNamespacePath && a.Address == b.Address && a.Ports.SequenceEqual(b.Ports)));
        Assert.That(File.Exists(NetworkNamespaces.PathOf(NetworkNamespaces.NameFor(id))), Is.False);
        await Network().TearDownAsync(id, CancellationToken.None);
    }

    [Test]
    public void A_host_port_in_use_is_refused_before_anything_is_made()
    {
        var id = NewContainer();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var refusal = Assert.ThrowsAsync<ContainerOperationException>(() => Network().SetUpAsync(id, "bridge", [new PortSpec(80, port, false, "127.0.0.1")], CancellationToken.None));

        Assert.That(refusal!.Message, Is.EqualTo($"CannotCreateContainerError: host port {port}/tcp is already in use on 127.0.0.1"));
        AssertNothingLeft(id, null, port);
    }

    [Test]
    public async Task A_host_port_another_container_publishes_is_refused()
    {
        var first = NewContainer();
        var second = NewContainer();
        var port = FreePort();
        await Network().SetUpAsync(first, "bridge", [new PortSpec(80, port, false, "")], CancellationToken.None);

        // A new object, as after a restart: what is published is known from the disk.
        var refusal = Assert.ThrowsAsync<ContainerOperationException>(() => Network().SetUpAsync(second, "bridge", [new PortSpec(8080, port, false, "127.0.0.1")], CancellationToken.None));

        Assert.That(refusal!.Message, Does.Contain($"host port {port}/tcp is already in use on 127.0.0.1"));
        Assert.That(File.Exists(NetworkNamespaces.PathOf(NetworkNamespaces.NameFor(second))), Is.False);
        Assert.That(IptablesRules(), Does.Not.Contain(second));
    }

    [Test]
    public void A_missing_plugin_directory_is_refused()
    {
        var id = NewContainer();
        var empty = Directory.CreateDirectory(Path.Combine(_root, "no-plugins")).FullName;

        var refusal = Assert.ThrowsAsync<ContainerOperationException>(() => Network(empty).SetUpAsync(id, "bridge", [], CancellationToken.None));

        Assert.That(refusal!.Message, Does.Contain($"CNI plugin loopback not found in {empty}; install containernetworking-plugins"));
        AssertNothingLeft(id, null, null);
    }

    [Test]
    public void A_missing_plugin_is_named()
    {
        var id = NewContainer();
        var plugins = PluginsWith("portmap", null);

        var refusal = Assert.ThrowsAsync<ContainerOperationException>(() => Network(plugins).SetUpAsync(id, "bridge", [new PortSpec(80, FreePort(), false, "")], CancellationToken.None));

        Assert.That(refusal!.Message, Does.Contain($"CNI plugin portmap not found in {plugins}; install containernetworking-plugins"));
        AssertNothingLeft(id, null, null);
    }

    [Test]
    public void A_plugin_failing_undoes_the_plugins_before_it_and_the_namespace()
    {
        var id = NewContainer();
        var port = FreePort();
        // firewall comes after bridge and portmap: both have done their work when it fails.
        var plugins = PluginsWith("firewall", """
            #!/bin/sh
            cat > /dev/null
            [ "$CNI_COMMAND" = ADD ] || exit 0
            echo '{"cniVersion":"1.0.0","code":100,"msg":"firewall says no"}'
            exit 1
            """);

        var refusal = Assert.ThrowsAsync<ContainerOperationException>(() => Network(plugins).SetUpAsync(id, "bridge", [new PortSpec(80, port, false, "")], CancellationToken.None));

        Assert.That(refusal!.Message, Is.EqualTo("CannotCreateContainerError: CNI plugin firewall failed: firewall says no"));
        AssertNothingLeft(id, null, port);
    }

    [Test]
    public async Task A_restarted_agent_tears_down_what_the_last_one_set_up()
    {
        var id = NewContainer();
        var port = FreePort();
        var sandbox = await Network().SetUpAsync(id, "bridge", [new PortSpec(80, port, false, "")], CancellationToken.None);

        await Network().TearDownAsync(id, CancellationToken.None);

        AssertNothingLeft(id, sandbox.Address, port);
        await Network().TearDownAsync(id, CancellationToken.None);
        await Network().TearDownAsync("never-set-up", CancellationToken.None);
    }

    [Test]
    public async Task Leftovers_of_containers_gone_are_torn_down_and_the_others_kept()
    {
        var kept = NewContainer();
        var gone = NewContainer();
        var gonePort = FreePort();
        var network = Network();
        var keptSandbox = await network.SetUpAsync(kept, "bridge", [], CancellationToken.None);
        var goneSandbox = await network.SetUpAsync(gone, "bridge", [new PortSpec(80, gonePort, false, "")], CancellationToken.None);

        var removed = await Network().RemoveLeftoversAsync(new HashSet<string> { kept }, CancellationToken.None);

        Assert.That(removed, Is.EqualTo(new[] { gone }));
        AssertNothingLeft(gone, goneSandbox.Address, gonePort);
        Assert.That(File.Exists(keptSandbox.NetworkNamespacePath), Is.True);
        Assert.That(Leases(), Is.EqualTo(new[] { keptSandbox.Address }));
    }

    [Test]
    public async Task Containers_set_up_at_once_get_addresses_of_their_own_and_one_host_port_goes_to_one()
    {
        var ids = Enumerable.Range(0, 6).Select(_ => NewContainer()).ToList();
        var port = FreePort();
        var network = Network();

        // The bridge is made by whichever plugin run comes first; host-local and iptables take their locks.
        var setUps = ids.Select(id => Task.Run(() => network.SetUpAsync(id, "bridge", [new PortSpec(80, port, false, "")], CancellationToken.None))).ToList();
        var outcomes = await Task.WhenAll(setUps.Select(async t =>
        {
            try
            {
                return (Sandbox: await t, Error: (string?)null);
            }
            catch (ContainerOperationException ex)
            {
                return (Sandbox: (SandboxNetwork?)null, Error: ex.Message);
            }
        }));

        Assert.That(outcomes.Count(o => o.Sandbox is not null), Is.EqualTo(1), string.Join("\n", outcomes.Select(o => o.Error)));
        Assert.That(outcomes.Where(o => o.Error is not null).Select(o => o.Error), Has.All.Contain($"host port {port}/tcp is already in use"));

        var others = ids.Select(id => Task.Run(() => network.SetUpAsync(id + "-b", "bridge", [], CancellationToken.None))).ToList();
        _containers.AddRange(ids.Select(id => id + "-b"));
        var addresses = (await Task.WhenAll(others)).Select(s => s.Address).ToList();
        Assert.That(addresses, Is.Unique.And.None.Null);
        Assert.That(Leases(), Has.Length.EqualTo(ids.Count + 1));

        await Task.WhenAll(_containers.Select(id => network.TearDownAsync(id, CancellationToken.None)));
        Assert.That(Leases(), Is.Empty);
        foreach (var id in _containers)
        {
            AssertNothingLeft(id, null, port);
        }
    }

    private CniNetwork Network(string pluginDirectory = PluginDirectory) =>
        new(new ContainerdOptions { CniBinDirectory = pluginDirectory, BridgeName = Bridge, Subnet = Subnet }, _stateDirectory);

    private string NewContainer()
    {
        var id = "cnitest-" + Guid.NewGuid().ToString("N")[..10];
        _containers.Add(id);
        return id;
    }

    /// <summary>A plugin directory of links to the real plugins, with <paramref name="plugin"/> missing or replaced by a script.</summary>
    private string PluginsWith(string plugin, string? script)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root, "plugins")).FullName;
        foreach (var real in Directory.GetFiles(PluginDirectory))
        {
            if (Path.GetFileName(real) != plugin)
            {
                File.CreateSymbolicLink(Path.Combine(directory, Path.GetFileName(real)), real);
            }
        }
        if (script is not null)
        {
            var path = Path.Combine(directory, plugin);
            File.WriteAllText(path, script.ReplaceLineEndings("\n") + "\n");
            Assert.That(ShellCommand.Run("chmod", "0755", path).ExitCode, Is.Zero);
        }
        return directory;
    }

    private void Serve(string containerId, int port)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false };
        foreach (var argument in new[] { "netns", "exec", NetworkNamespaces.NameFor(containerId), "/bin/busybox", "httpd", "-f", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-h", _root })
        {
            start.ArgumentList.Add(argument);
        }
        _listeners.Add(Process.Start(start)!);
    }

    private void StopListeners()
    {
        foreach (var listener in _listeners)
        {
            listener.Kill(entireProcessTree: true);
            listener.WaitForExit();
            listener.Dispose();
        }
        _listeners.Clear();
    }

    private static async Task<string> FetchAsync(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string? body = null;
        // httpd is listening a moment after it is started.
        await Polling.UntilAsync(async () =>
        {
            try
            {
                body = await client.GetStringAsync(url);
                return true;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, $"{url} answers", TimeSpan.FromSeconds(20));
        return body!;
    }

    private static async Task OpenAsync(IPAddress address, int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(address, port, timeout.Token);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private IPAddress[] Leases()
    {
        var directory = Path.Combine(_stateDirectory, "cni", "ipam", Bridge);
        return Directory.Exists(directory)
            ? Directory.GetFiles(directory).Select(f => IPAddress.TryParse(Path.GetFileName(f), out var a) ? a : null).OfType<IPAddress>().ToArray()
            : [];
    }

    private static string IptablesRules()
    {
        var (exitCode, output) = ShellCommand.Run("iptables-save");
        Assert.That(exitCode, Is.Zero, output);
        return output;
    }

    private void AssertNothingLeft(string containerId, IPAddress? address, int? port)
    {
        var rules = IptablesRules();
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(NetworkNamespaces.PathOf(NetworkNamespaces.NameFor(containerId))), Is.False, "network namespace");
            Assert.That(File.Exists(Path.Combine(_stateDirectory, "cni", containerId + ".json")), Is.False, "state file");
            Assert.That(rules, Does.Not.Contain(containerId), "iptables rules naming the container");
            if (address is not null)
            {
                Assert.That(rules, Does.Not.Contain(address + "/32"), "iptables rules of the address");
                Assert.That(Leases(), Does.Not.Contain(address), "IPAM lease");
            }
            if (port is not null)
            {
                Assert.That(rules, Does.Not.Contain($"--dport {port} "), "port mapping");
            }
            if (address is null)
            {
                Assert.That(Leases(), Is.Empty, "IPAM leases");
            }
        });
    }
}
