using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Cni;
using Orchestrator.Agent.Runtime.Logs;
using Orchestrator.Tests.Shared;

namespace Orchestrator.EndToEnd.Tests.Containerd;

/// <summary>
/// A <see cref="ContainerdRuntime"/> over a containerd of the test's own (<see cref="ContainerdProcess"/>,
/// the test image imported from Docker), its state in a temporary directory. <see cref="NewRuntime"/>
/// makes another instance over the same containerd and directories: an agent restarted.
/// </summary>
internal sealed class ContainerdRuntimeFixture : IDisposable
{
    public const string TestImage = ContainerdProcess.TestImage;

    /// <summary>The bridge of tests that do not give one (distinct from every other test's and the bench's).</summary>
    public const string DefaultBridge = "orch-fix0";

    public const string DefaultSubnet = "10.219.90.0/24";

    private readonly List<ContainerdClients> _clients = [];

    /// <summary>Whether the bridge was there before: only one the fixture's containers made is deleted.</summary>
    private bool _bridgeExisted;

    private ContainerdRuntimeFixture(ContainerdProcess containerd, ContainerdOptions options, string stateDirectory)
    {
        Containerd = containerd;
        Options = options;
        StateDirectory = stateDirectory;
        Runtime = NewRuntime();
    }

    public ContainerdProcess Containerd { get; }

    public ContainerdOptions Options { get; }

    /// <summary>Agent:StateDirectory of the runtime (a temporary directory).</summary>
    public string StateDirectory { get; }

    /// <summary>&lt;StateDirectory&gt;/&lt;Containerd:DataDirectory&gt;: logs, sandbox files, FIFOs, volumes.</summary>
    public string DataDirectory => Path.Combine(StateDirectory, Options.DataDirectory);

    public ContainerdRuntime Runtime { get; }

    /// <summary>Starts containerd (requires Docker's copy of the test image) and builds the runtime.</summary>
    /// <param name="configure">Changes to the options (a bridge or subnet of the test's own...).</param>
    public static async Task<ContainerdRuntimeFixture> StartAsync(Action<ContainerdOptions>? configure = null)
    {
        Docker.RequireReady();
        var containerd = await ContainerdProcess.StartAsync();
        try
        {
            containerd.ImportFromDocker();
            // A bridge and subnet of the fixture's own, never the production default (orch-cni0, 10.88.0.0/16)
            // an agent or podman on this host may use.
            var options = new ContainerdOptions
            {
                Socket = containerd.Socket,
                Namespace = ContainerdProcess.Namespace,
                BridgeName = DefaultBridge,
                Subnet = DefaultSubnet,
            };
            configure?.Invoke(options);
            var state = Directory.CreateTempSubdirectory("ctd-agent-").FullName;
            return new ContainerdRuntimeFixture(containerd, options, state) { _bridgeExisted = Directory.Exists($"/sys/class/net/{options.BridgeName}") };
        }
        catch
        {
            containerd.Dispose();
            throw;
        }
    }

    /// <summary>A new runtime over the same containerd and directories, with nothing in memory: an agent restarted.</summary>
    public ContainerdRuntime NewRuntime()
    {
        var clients = new ContainerdClients(Options.Socket, Options.Namespace);
        _clients.Add(clients);
        var data = DataDirectory;
        Directory.CreateDirectory(data);
        return new ContainerdRuntime(
            clients,
            Options,
            data,
            new ContainerdImages(clients, Options),
            // The data directory itself, as the agent gives it (RuntimeRegistration): CniNetwork keeps its state under cni/.
            new CniNetwork(Options, data),
            new LocalVolumes(Path.Combine(data, "volumes")),
            new LogRotator(TimeProvider.System));
    }

    /// <summary>A container of the test image on the host's network (no CNI needed), labelled <paramref name="label"/>.</summary>
    public static ContainerSpec Spec(string name, (string Key, string Value) label, params string[] command) =>
        new(name, TestImage, command, [], [], 0, 0, 0, [], null, 10, new Dictionary<string, string> { [label.Key] = label.Value })
        {
            Options = new ContainerOptions { NetworkMode = "host" },
        };

    /// <summary>A container name no other test uses.</summary>
    public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];

    public void Dispose()
    {
        foreach (var clients in _clients)
        {
            clients.Dispose();
        }

        Containerd.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A mount still busy: left for the next boot's /tmp cleanup.
        }

        // The bridge plugin makes the bridge and never removes it.
        if (!_bridgeExisted && Directory.Exists($"/sys/class/net/{Options.BridgeName}"))
        {
            ShellCommand.Run("ip", "link", "delete", Options.BridgeName);
        }

        // The containers' parent cgroups (runc leaves them); busy when another test's containers are in them.
        foreach (var controller in Directory.Exists("/sys/fs/cgroup") ? Directory.GetDirectories("/sys/fs/cgroup") : [])
        {
            var parent = Path.Combine(controller, Options.Namespace);
            try
            {
                if (Directory.Exists(parent) && Directory.GetDirectories(parent).Length == 0)
                {
                    Directory.Delete(parent);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use.
            }
        }
    }
}
