using System.Globalization;
using System.Runtime.InteropServices;
using Grpc.Core;
using Orchestrator.Agent.Runtime.Containerd.Cni;
using Orchestrator.Agent.Runtime.Logs;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// The container runtime on containerd, through its gRPC API. Everything it must know again after an
/// agent restart is kept in containerd (the container, its task, its labels under
/// <see cref="RuntimeLabels"/>) or on disk under the data directory: a new instance over the same
/// containerd lists, inspects, stops and removes what an earlier one made.
/// </summary>
/// <remarks>Split by concern: .Lifecycle (create, start, stop, remove), .State (inspect, list), .Events, .Exec.</remarks>
internal sealed partial class ContainerdRuntime : IContainerRuntime
{
    private const string RuncRuntime = "io.containerd.runc.v2";
    private const string SpecTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
    private const string ProcessTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Process";

    private readonly ContainerdClients _clients;
    private readonly ContainerdOptions _options;
    private readonly string _dataDirectory;
    private readonly ContainerdImages _images;
    private readonly CniNetwork _network;
    private readonly LocalVolumes _volumes;
    private readonly LogRotator _logs;

    /// <param name="dataDirectory">Absolute: &lt;Agent:StateDirectory&gt;/&lt;Agent:Containerd:DataDirectory&gt;.</param>
    public ContainerdRuntime(ContainerdClients clients, ContainerdOptions options, string dataDirectory, ContainerdImages images, CniNetwork network, LocalVolumes volumes, LogRotator logs)
    {
        _clients = clients;
        _options = options;
        _dataDirectory = dataDirectory;
        _images = images;
        _network = network;
        _volumes = volumes;
        _logs = logs;
    }

    public RuntimeCapabilities Capabilities => RuntimeCapabilities.OfContainerd;

    /// <summary>Where the shim writes each container's output: &lt;data&gt;/logs/&lt;id&gt;/container.log.</summary>
    internal string LogsDirectory => Path.Combine(_dataDirectory, "logs");

    /// <summary>Each container's /etc/hosts, /etc/resolv.conf and /etc/hostname: &lt;data&gt;/sandbox/&lt;id&gt;/.</summary>
    internal string SandboxDirectory => Path.Combine(_dataDirectory, "sandbox");

    /// <summary>The FIFOs of exec'd processes' output, one directory per process.</summary>
    internal string FifoDirectory => Path.Combine(_dataDirectory, "fifo");

    public async Task<RuntimeInfo> InfoAsync(CancellationToken cancellation)
    {
        string version;
        try
        {
            var answer = await _clients.Version.VersionAsync(new Google.Protobuf.WellKnownTypes.Empty(), cancellationToken: cancellation);
            version = answer.Version;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !cancellation.IsCancellationRequested)
        {
            throw Unreachable(e);
        }

        return new RuntimeInfo(Environment.ProcessorCount, HostMemoryBytes(), "linux", ArchitectureName(RuntimeInformation.OSArchitecture), version);
    }

    public Task EnsureImageAsync(string image, CancellationToken cancellation) => _images.EnsureAsync(image, cancellation);

    // Volumes are directories of the agent's own; containerd has no task networks (awsvpc is Docker's).

    public Task CreateVolumeAsync(VolumeSpec spec, CancellationToken cancellation) => _volumes.CreateAsync(spec, cancellation);

    public Task<bool> VolumeExistsAsync(string name, CancellationToken cancellation) => _volumes.ExistsAsync(name, cancellation);

    public Task RemoveVolumeAsync(string name, CancellationToken cancellation) => _volumes.RemoveAsync(name, cancellation);

    public Task<IReadOnlyList<LabelledResource>> ListVolumesAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        _volumes.ListAsync(labelKey, labelValue, cancellation);

    public Task CreateNetworkAsync(NetworkSpec spec, CancellationToken cancellation) =>
        throw new ContainerOperationException("networkMode awsvpc needs the docker runtime; this node runs containerd");

    public Task RemoveNetworkAsync(string name, CancellationToken cancellation) => Task.CompletedTask;

    public Task<IReadOnlyList<LabelledResource>> ListNetworksAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        Task.FromResult<IReadOnlyList<LabelledResource>>([]);

    /// <summary>Docker's names of the architectures (GOARCH), which the scheduler's attributes use.</summary>
    internal static string ArchitectureName(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.Arm64 => "aarch64",
        Architecture.X86 => "i386",
        Architecture.Arm => "armv7l",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        _ => architecture.ToString().ToLowerInvariant(),
    };

    /// <summary>MemTotal of /proc/meminfo, in bytes (0 where it cannot be read).</summary>
    private static long HostMemoryBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
            // Not Linux, or /proc not mounted: no figure rather than no agent.
        }

        return 0;
    }

    private RuntimeUnavailableException Unreachable(Exception e) =>
        new($"containerd is not reachable at {_clients.Socket}: {(e is RpcException rpc ? rpc.Status.Detail : e.Message)}", e);

    /// <summary>Maps containerd not being there to <see cref="RuntimeUnavailableException"/>; any other refusal passes through.</summary>
    private async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (ContainerdClients.IsUnreachable(e))
        {
            throw Unreachable(e);
        }
    }

    private async Task CallAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (RpcException e) when (ContainerdClients.IsUnreachable(e))
        {
            throw Unreachable(e);
        }
    }

    private static bool IsNotFound(RpcException e) => e.StatusCode == StatusCode.NotFound;

    private static string Describe(RpcException e) => string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail;
}
