using Orchestrator.Agent.Runtime.Logs;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// What the agent's settings say about the containers it runs: what it allows (privileged containers,
/// host paths), the log cap it puts on them, and where secret files go. The defaults here are inert
/// (nothing allowed, no secrets directory); <see cref="From"/> gives the settings' own defaults.
/// </summary>
internal sealed partial record WorkloadSettings
{
    public static readonly WorkloadSettings Default = new();

    /// <summary>The log drivers Agent:LogDriver may name.</summary>
    public static readonly IReadOnlyList<string> LogDrivers = ["local", "json-file", "journald", "syslog", "none"];

    public bool AllowPrivileged { get; init; }

    /// <summary>Absolute, normalised, without a trailing slash.</summary>
    public IReadOnlyList<string> AllowedHostPaths { get; init; } = [];

    public string LogDriver { get; init; } = "local";
    public string LogMaxSize { get; init; } = "10m";
    public int LogMaxFiles { get; init; } = 3;

    /// <summary>Absolute; empty: no secret files can be written.</summary>
    public string SecretsDirectory { get; init; } = "";

    /// <exception cref="FormatException">A setting is malformed; the message names it.</exception>
    public static WorkloadSettings From(AgentOptions options)
    {
        var paths = options.AllowedHostPaths.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (paths.FirstOrDefault(p => !p.StartsWith('/')) is { } relative)
        {
            throw new FormatException($"Agent:AllowedHostPaths must be absolute paths separated by commas, not \"{relative}\"");
        }

        if (!LogDrivers.Contains(options.LogDriver))
        {
            throw new FormatException($"Agent:LogDriver must be one of {string.Join(", ", LogDrivers)}, not \"{options.LogDriver}\"");
        }

        if (!LogSize.TryParse(options.LogMaxSize, out _))
        {
            throw new FormatException($"Agent:LogMaxSize must be a size as Docker writes it (10m, 512k, 1g), not \"{options.LogMaxSize}\"");
        }

        if (options.LogMaxFiles < 1)
        {
            throw new FormatException($"Agent:LogMaxFiles must be 1 or more, not {options.LogMaxFiles}");
        }

        if (options.SecretsDirectory.Trim().Length == 0)
        {
            throw new FormatException("Agent:SecretsDirectory must not be empty");
        }

        return new WorkloadSettings
        {
            AllowPrivileged = options.AllowPrivileged,
            AllowedHostPaths = paths.Length > 0 ? [.. paths.Select(HostPaths.Normalize).Distinct(StringComparer.Ordinal)] : [OwnVolumesDirectory(options)],
            LogDriver = options.LogDriver,
            LogMaxSize = options.LogMaxSize,
            LogMaxFiles = options.LogMaxFiles,
            SecretsDirectory = HostPaths.Normalize(Path.GetFullPath(options.SecretsDirectory)),
        };
    }

    /// <summary>The one host path allowed when Agent:AllowedHostPaths is empty: a directory of the agent's own.</summary>
    public static string OwnVolumesDirectory(AgentOptions options) => HostPaths.Normalize(Path.GetFullPath(Path.Combine(options.StateDirectory, "volumes")));
}
