using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Cni;
using Orchestrator.Agent.Runtime.Logs;
using Orchestrator.Agent.Runtime.Probes;
using Orchestrator.Agent.Telemetry;

namespace Orchestrator.Agent.Hosting;

/// <summary>
/// The composition root's runtime seam: Agent:Runtime chooses the engine the task supervisor talks to
/// (<see cref="AddDockerRuntime"/> or <see cref="AddContainerdRuntime"/>), and every engine is wrapped
/// alike: what it does not do itself supplied by the agent (health checks by exec), then every call timed.
/// </summary>
internal static partial class RuntimeRegistration
{
    /// <summary>The longest name Linux gives a network interface (IFNAMSIZ less its NUL).</summary>
    private const int MaxInterfaceName = 15;

    /// <summary>Registers the runtime Agent:Runtime names (validated by <see cref="Validate"/>).</summary>
    public static IServiceCollection AddContainerRuntime(this IServiceCollection services, AgentOptions options) =>
        options.Runtime == RuntimeCapabilities.Containerd ? services.AddContainerdRuntime(options) : services.AddDockerRuntime(options);

    public static IServiceCollection AddDockerRuntime(this IServiceCollection services, AgentOptions options) =>
        services.AddSingleton(sp => Decorated(sp, new DockerRuntime(options.DockerEndpoint)));

    /// <summary>
    /// containerd over its socket in our namespace, with the parts the agent supplies around it: images
    /// (pull, unpack), CNI networking, task volumes as directories, and rotation of the log files its
    /// shim writes. Each is a singleton, as the runtime is.
    /// </summary>
    public static IServiceCollection AddContainerdRuntime(this IServiceCollection services, AgentOptions options)
    {
        var settings = options.Containerd;
        var dataDirectory = ContainerdDataDirectory(options);
        services.AddSingleton(_ => new ContainerdClients(settings.Socket, settings.Namespace));
        services.AddSingleton(sp => new ContainerdImages(sp.GetRequiredService<ContainerdClients>(), settings, sp.GetRequiredService<ILogger<ContainerdImages>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(_ => new CniNetwork(settings, dataDirectory));
        services.AddSingleton(_ => new LocalVolumes(Path.Combine(dataDirectory, "volumes")));
        services.AddSingleton(sp =>
        {
            // Its loop runs until the host disposes it (a singleton the container made).
            var rotator = new LogRotator(sp.GetRequiredService<TimeProvider>(), logger: sp.GetRequiredService<ILogger<LogRotator>>());
            rotator.Start(CancellationToken.None);
            return rotator;
        });
        services.AddSingleton(sp => Decorated(sp, new ContainerdRuntime(
            sp.GetRequiredService<ContainerdClients>(),
            settings,
            dataDirectory,
            sp.GetRequiredService<ContainerdImages>(),
            sp.GetRequiredService<CniNetwork>(),
            sp.GetRequiredService<LocalVolumes>(),
            sp.GetRequiredService<LogRotator>())));
        return services;
    }

    /// <summary>Where the containerd runtime keeps its files: Agent:Containerd:DataDirectory, under Agent:StateDirectory when relative.</summary>
    public static string ContainerdDataDirectory(AgentOptions options) =>
        Path.GetFullPath(Path.Combine(options.StateDirectory, options.Containerd.DataDirectory));

    /// <summary>The runtime and where it is, as the agent's start line and its "answers again" line name it.</summary>
    public static string Describe(AgentOptions options) => options.Runtime == RuntimeCapabilities.Containerd
        ? $"containerd at {options.Containerd.Socket} (namespace {options.Containerd.Namespace})"
        : $"Docker at {options.DockerEndpoint}";

    /// <summary>
    /// Checks Agent:Runtime and the settings of the runtime it names, so that a typo stops the agent at
    /// start with the setting's name instead of failing every task later.
    /// </summary>
    /// <exception cref="FormatException">The first bad setting, named.</exception>
    public static void Validate(AgentOptions options)
    {
        switch (options.Runtime)
        {
            case RuntimeCapabilities.Docker:
                if (!Uri.TryCreate(options.DockerEndpoint, UriKind.Absolute, out _))
                {
                    throw new FormatException($"Agent:DockerEndpoint must be a URI (unix:///var/run/docker.sock, tcp://host:2375), not \"{options.DockerEndpoint}\"");
                }

                return;
            case RuntimeCapabilities.Containerd:
                ValidateContainerd(options);
                return;
            default:
                throw new FormatException($"Agent:Runtime must be \"{RuntimeCapabilities.Docker}\" or \"{RuntimeCapabilities.Containerd}\", not \"{options.Runtime}\"");
        }
    }

    private static void ValidateContainerd(AgentOptions options)
    {
        var settings = options.Containerd;
        Absolute(settings.Socket, "Socket");
        Absolute(settings.CniBinDirectory, "CniBinDirectory");
        if (settings.InitPath.Length > 0)
        {
            Absolute(settings.InitPath, "InitPath");
        }

        // containerd's own rule for a namespace (identifiers.Validate): it refuses anything else on every call.
        if (settings.Namespace.Length > 76 || !NamespacePattern().IsMatch(settings.Namespace))
        {
            throw new FormatException($"Agent:Containerd:Namespace must be letters and digits, with '.', '_' or '-' between them (at most 76), not \"{settings.Namespace}\"");
        }

        if (settings.Snapshotter.Length == 0 || !NamespacePattern().IsMatch(settings.Snapshotter))
        {
            throw new FormatException($"Agent:Containerd:Snapshotter must name a snapshotter of containerd (overlayfs, native...), not \"{settings.Snapshotter}\"");
        }

        if (settings.BridgeName.Length is 0 or > MaxInterfaceName || !InterfacePattern().IsMatch(settings.BridgeName))
        {
            throw new FormatException($"Agent:Containerd:BridgeName must be a network interface name (letters, digits, '.', '_', '-'; at most {MaxInterfaceName}), not \"{settings.BridgeName}\"");
        }

        if (!IPNetwork.TryParse(settings.Subnet, out var subnet) || subnet.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || subnet.PrefixLength > 30 || HasHostBits(settings.Subnet, subnet))
        {
            throw new FormatException($"Agent:Containerd:Subnet must be an IPv4 network in CIDR form with room for containers (10.88.0.0/16; at most /30), not \"{settings.Subnet}\"");
        }

        if (settings.DataDirectory.Trim().Length == 0)
        {
            throw new FormatException("Agent:Containerd:DataDirectory must not be empty (a path, relative to Agent:StateDirectory or absolute)");
        }

        // containerd's shim writes a file the agent rotates, or nothing: journald and syslog are Docker's drivers.
        if (!Orchestrator.Contracts.V1.RuntimeSupport.IsPortableLogDriver(options.LogDriver))
        {
            throw new FormatException($"Agent:LogDriver {options.LogDriver} is Docker's: with Agent:Runtime containerd it must be local, json-file or none");
        }
    }

    /// <summary>
    /// "10.88.0.1/16" is a typo for an address or for a network (host-local's range needs the network);
    /// .NET's parser quietly masks the host bits off, so the text is compared with what it made.
    /// </summary>
    private static bool HasHostBits(string text, IPNetwork network) =>
        text.Trim().Split('/')[0] != network.BaseAddress.ToString();

    private static void Absolute(string path, string setting)
    {
        if (!Path.IsPathFullyQualified(path))
        {
            throw new FormatException($"Agent:Containerd:{setting} must be an absolute path, not \"{path}\"");
        }
    }

    /// <summary>What the engine does not do itself, the agent does around it; then every call is timed in one place.</summary>
    private static IContainerRuntime Decorated(IServiceProvider services, IContainerRuntime runtime)
    {
        if (!runtime.Capabilities.NativeHealthChecks)
        {
            runtime = Probed(services, runtime);
        }

        return new MeteredRuntime(runtime, services.GetRequiredService<AgentMeter>());
    }

    private static IContainerRuntime Probed(IServiceProvider services, IContainerRuntime runtime) =>
        new ProbedRuntime(runtime, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<ProbedRuntime>>());

    [GeneratedRegex("^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")]
    private static partial Regex NamespacePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex InterfacePattern();
}
