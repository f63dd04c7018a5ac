using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// Turns a container definition's storage, secrets, logs, network and runtime fields into what the
/// runtime creates. It assumes <see cref="TaskEnvironment.PrepareAsync"/> has checked the references
/// (volumes, containers, secret values) and made the volumes, network and secret files.
/// </summary>
internal static class ContainerOptionsBuilder
{
    private const long MiB = 1024 * 1024;

    /// <param name="hostSources">The host volumes' resolved paths, by volume name; a volume missing here is bound as the task gave it.</param>
    /// <param name="node">This node's name: its secret files are under its own directory.</param>
    public static ContainerOptions Build(StartTaskCommand command, ContainerDefinition definition, WorkloadSettings settings, string node, IReadOnlyDictionary<string, string>? hostSources = null)
    {
        var mode = NetworkModes.Of(command.TaskDefinition);
        var linux = definition.LinuxParameters ?? new LinuxParameters();
        var mounts = definition.MountPoints.Select(m => Mount(command, m, hostSources)).OfType<MountSpec>().ToList();
        if (definition.Secrets.Any(s => s.AsFile))
        {
            mounts.Add(new MountSpec(MountKind.Bind, SecretFiles.ContainerDirectory(settings.SecretsDirectory, node, command.TaskId, definition.Name), SecretFiles.ContainerPath, ReadOnly: true));
        }

        return new ContainerOptions
        {
            Mounts = mounts,
            Tmpfs = [.. linux.Tmpfs.Select(t => new TmpfsSpec(t.ContainerPath, t.Size * MiB, [.. t.MountOptions]))],
            VolumesFrom = [.. definition.VolumesFrom.Select(v => $"{ContainerSpecBuilder.DockerName(command, v.SourceContainer)}:{(v.ReadOnly ? "ro" : "rw")}")],
            SecretEnvironment = [.. definition.Secrets
                .Where(s => !s.AsFile && command.SecretValues.ContainsKey(s.ValueFrom))
                .Select(s => new SecretVariable(s.Name, command.SecretValues[s.ValueFrom].ToStringUtf8()))],
            CapabilitiesAdded = [.. linux.Capabilities?.Add ?? []],
            CapabilitiesDropped = [.. linux.Capabilities?.Drop ?? []],
            SharedMemoryBytes = linux.SharedMemorySize * MiB,
            Log = Log(definition.LogConfiguration, settings),
            NetworkMode = mode switch
            {
                NetworkModes.Awsvpc => TaskEnvironment.NetworkName(command.TaskId),
                _ => mode,
            },
            NetworkAliases = mode == NetworkModes.Awsvpc ? [definition.Name] : [],
            Links = mode == NetworkModes.Bridge ? [.. definition.Links.Select(l => Link(command, l))] : [],
            // Docker refuses a hostname on the host's network: the container has the host's.
            Hostname = mode == NetworkModes.Host ? "" : definition.Hostname,
            ExtraHosts = [.. definition.ExtraHosts.Select(h => $"{h.Hostname}:{h.IpAddress}")],
            DnsServers = [.. definition.DnsServers],
            DnsSearchDomains = [.. definition.DnsSearchDomains],
            User = definition.User,
            WorkingDirectory = definition.WorkingDirectory,
            Ulimits = [.. definition.Ulimits.Select(u => new UlimitSpec(u.Name, u.SoftLimit, u.HardLimit))],
            ReadonlyRootFilesystem = definition.ReadonlyRootFilesystem,
            Privileged = definition.Privileged,
            Tty = definition.PseudoTerminal,
            OpenStdin = definition.Interactive,
        };
    }

    /// <summary>
    /// The container's log configuration: the node's default driver where it names none, and on the
    /// drivers that write files on the host (local, json-file) the node's size cap where it gives no
    /// max-size, so that a chatty container cannot fill the disk. Other drivers are passed as given.
    /// </summary>
    public static LogSpec Log(LogConfiguration? given, WorkloadSettings settings)
    {
        var driver = given is { LogDriver.Length: > 0 } ? given.LogDriver : settings.LogDriver;
        var options = given is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(given.Options, StringComparer.Ordinal);
        if (driver is "local" or "json-file" && !options.ContainsKey("max-size"))
        {
            options["max-size"] = settings.LogMaxSize;
            options.TryAdd("max-file", settings.LogMaxFiles.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return new LogSpec(driver, options);
    }

    private static MountSpec? Mount(StartTaskCommand command, MountPoint mount, IReadOnlyDictionary<string, string>? hostSources)
    {
        var volume = command.TaskDefinition.Volumes.FirstOrDefault(v => v.Name == mount.SourceVolume);
        return volume switch
        {
            null => null,
            { Host: { } host } => new MountSpec(MountKind.Bind, hostSources?.GetValueOrDefault(volume.Name) ?? host.SourcePath, mount.ContainerPath, mount.ReadOnly),
            _ when TaskEnvironment.IsShared(volume) => new MountSpec(MountKind.Volume, volume.Name, mount.ContainerPath, mount.ReadOnly),
            _ => new MountSpec(MountKind.Volume, TaskEnvironment.VolumeName(command.TaskId, volume.Name), mount.ContainerPath, mount.ReadOnly),
        };
    }

    /// <summary>"db" or "db:alias" to Docker's "docker-name-of-db:alias" (the alias defaults to the container's name).</summary>
    private static string Link(StartTaskCommand command, string link)
    {
        var colon = link.IndexOf(':', StringComparison.Ordinal);
        var container = colon < 0 ? link : link[..colon];
        var alias = colon < 0 ? link : link[(colon + 1)..];
        return $"{ContainerSpecBuilder.DockerName(command, container)}:{alias}";
    }
}
