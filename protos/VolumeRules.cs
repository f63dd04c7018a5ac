namespace Orchestrator.Contracts.V1;

/// <summary>
/// Rules on Docker volumes that keep a task inside what its node allows. The scheduler refuses a
/// definition that breaks them and the agent, the node's own enforcement point, refuses it again, so
/// both read them here.
/// </summary>
public static class VolumeRules
{
    /// <summary>The prefix of every name the agent gives Docker objects of a task (its own volumes, its network).</summary>
    public const string AgentPrefix = "orch-";

    /// <summary>
    /// Filesystem types the local driver may mount: memory, and network shares, which are not paths of
    /// the node. Anything else (a bind, an overlay of node directories, a disk device) would reach the
    /// node's files around Agent:AllowedHostPaths; host paths go through host.sourcePath instead.
    /// </summary>
    public static readonly IReadOnlySet<string> LocalDriverTypes = new HashSet<string>(["tmpfs", "nfs", "nfs4", "cifs"], StringComparer.Ordinal);

    /// <summary>Why the local driver's options would reach the node's own files, or null when they do not.</summary>
    /// <param name="options">A dockerVolumeConfiguration's driverOpts, for the driver "" or "local".</param>
    public static string? LocalDriverProblem(IReadOnlyDictionary<string, string> options)
    {
        foreach (var key in options.Keys)
        {
            if (key is not ("type" or "device" or "o"))
            {
                return $"\"{key}\" is not an option of the local driver (type, device, o)";
            }
        }

        options.TryGetValue("type", out var type);
        options.TryGetValue("device", out var device);
        options.TryGetValue("o", out var mountOptions);
        if (type is null or "")
        {
            // Without a type Docker makes a plain directory volume; device and o would then be ignored or a bind.
            return device is null && mountOptions is null ? null : "device and o need a type: tmpfs, nfs, nfs4 or cifs";
        }

        if (!LocalDriverTypes.Contains(type))
        {
            return $"type \"{type}\" could mount the node's own files; the local driver takes tmpfs, nfs, nfs4 or cifs (host paths go through host.sourcePath)";
        }

        if (mountOptions is not null && mountOptions.Split(',').Select(o => o.Trim()).FirstOrDefault(o => o is "bind" or "rbind" || o.Contains('/', StringComparison.Ordinal)) is { } option)
        {
            return $"the mount option \"{option}\" names a path of the node or binds one";
        }

        var remote = type switch
        {
            "tmpfs" => device is null or "" or "tmpfs",
            "cifs" => device is not null && device.StartsWith("//", StringComparison.Ordinal),
            _ => device is not null && device.Contains(":/", StringComparison.Ordinal) && !device.StartsWith('/'), // nfs: "server:/export" or ":/export"
        };
        return remote ? null : $"device \"{device}\" is not a {type} source ({(type == "cifs" ? "//server/share" : type == "tmpfs" ? "tmpfs" : "server:/export")})";
    }

    /// <summary>Why a shared volume may not have this name, or null: the agent's own names belong to single tasks.</summary>
    public static string? SharedNameProblem(string name) =>
        name.StartsWith(AgentPrefix, StringComparison.Ordinal)
            ? $"\"{name}\" starts with \"{AgentPrefix}\", the agent's names for volumes of single tasks"
            : null;

    /// <summary>
    /// The container of the task that gives its secret files to <paramref name="container"/> through
    /// volumesFrom (Docker copies every mount of the source, /run/secrets too), or null.
    /// </summary>
    public static string? SecretFilesSource(ContainerDefinition container, IEnumerable<ContainerDefinition> containers) =>
        container.VolumesFrom
            .Select(v => containers.FirstOrDefault(c => c.Name == v.SourceContainer))
            .FirstOrDefault(source => source is not null && source.Secrets.Any(s => s.AsFile))?.Name;
}
