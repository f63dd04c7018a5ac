namespace Orchestrator.Agent.Runtime;

/// <summary>
/// What a container gets beyond <see cref="ContainerSpec"/>'s basics: storage, secrets as variables,
/// logs, network and runtime options. Every default is what Docker does when not told otherwise,
/// except <see cref="Init"/>.
/// </summary>
internal sealed record ContainerOptions
{
    public static readonly ContainerOptions Default = new();

    /// <summary>Bind mounts and named volumes, in the order given.</summary>
    public IReadOnlyList<MountSpec> Mounts { get; init; } = [];

    public IReadOnlyList<TmpfsSpec> Tmpfs { get; init; } = [];

    /// <summary>Docker names of containers whose volumes this one mounts, each as "name:ro" or "name:rw".</summary>
    public IReadOnlyList<string> VolumesFrom { get; init; } = [];

    /// <summary>Environment variables whose values are secrets: kept apart from the plain ones so that no ToString prints them.</summary>
    public IReadOnlyList<SecretVariable> SecretEnvironment { get; init; } = [];

    public IReadOnlyList<string> CapabilitiesAdded { get; init; } = [];
    public IReadOnlyList<string> CapabilitiesDropped { get; init; } = [];

    /// <summary>
    /// A tiny init as PID 1 (docker --init). On by default, whatever initProcessEnabled says: it forwards
    /// SIGTERM, so stops take milliseconds instead of the whole stop timeout, and it reaps zombies.
    /// </summary>
    public bool Init { get; init; } = true;

    /// <summary>/dev/shm; 0 is Docker's default (64 MiB).</summary>
    public long SharedMemoryBytes { get; init; }

    /// <summary>Null: the engine's default driver (the agent always sets one).</summary>
    public LogSpec? Log { get; init; }

    /// <summary>"bridge", "host", "none" or the name of a network of the task's own; empty: Docker's default.</summary>
    public string NetworkMode { get; init; } = "";

    /// <summary>Names the container answers to on <see cref="NetworkMode"/> when that is a network of the task's own.</summary>
    public IReadOnlyList<string> NetworkAliases { get; init; } = [];

    /// <summary>Docker's legacy links (default bridge only), each "docker-name:alias".</summary>
    public IReadOnlyList<string> Links { get; init; } = [];

    public string Hostname { get; init; } = "";

    /// <summary>Lines added to /etc/hosts, each "hostname:ip".</summary>
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];

    public IReadOnlyList<string> DnsServers { get; init; } = [];
    public IReadOnlyList<string> DnsSearchDomains { get; init; } = [];
    public string User { get; init; } = "";
    public string WorkingDirectory { get; init; } = "";
    public IReadOnlyList<UlimitSpec> Ulimits { get; init; } = [];
    public bool ReadonlyRootFilesystem { get; init; }
    public bool Privileged { get; init; }
    public bool Tty { get; init; }
    public bool OpenStdin { get; init; }

    /// <summary>The network mode in which the container shares the host's network: its ports are its own, nothing is published.</summary>
    public bool HostNetwork => NetworkMode == "host";
}

internal enum MountKind
{
    /// <summary>A path of the host.</summary>
    Bind,

    /// <summary>A named Docker volume.</summary>
    Volume,
}

internal sealed record MountSpec(MountKind Kind, string Source, string Target, bool ReadOnly);

/// <param name="Options">Mount options as mount(8) takes them: "noexec", "nosuid", "mode=1777".</param>
internal sealed record TmpfsSpec(string ContainerPath, long SizeBytes, IReadOnlyList<string> Options);

internal sealed record LogSpec(string Driver, IReadOnlyDictionary<string, string> Options);

internal sealed record UlimitSpec(string Name, long Soft, long Hard);

/// <summary>An environment variable whose value is a secret. Printing it shows the name only.</summary>
internal sealed record SecretVariable(string Name, string Value)
{
    public override string ToString() => $"{Name}=(secret)";
}

/// <summary>A named Docker volume to create.</summary>
internal sealed record VolumeSpec(string Name, string Driver, IReadOnlyDictionary<string, string> DriverOptions, IReadOnlyDictionary<string, string> Labels);

/// <summary>A bridge network to create.</summary>
internal sealed record NetworkSpec(string Name, IReadOnlyDictionary<string, string> Labels);

/// <summary>A volume or network as the engine lists it.</summary>
internal sealed record LabelledResource(string Name, IReadOnlyDictionary<string, string> Labels);
