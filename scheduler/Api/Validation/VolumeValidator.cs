using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// The task definition's volumes: a host path, a Docker volume, or (with neither) an empty volume of the
/// task. Whether a host path is allowed is the node's agent's to say (Agent:AllowedHostPaths); here only
/// its form is checked. A volume that no container mounts is fine, as in ECS.
/// </summary>
internal static partial class VolumeValidator
{
    public const int MaxDriverLength = 255;

    // A plugin reference as Docker names volume drivers: "local", "rexray/ebs", "vieux/sshfs:latest".
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]*(:[A-Za-z0-9._-]+)?$")]
    private static partial Regex DriverPattern();

    // What Docker takes as a volume name: a shared volume is the Docker volume of the same name.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]+$")]
    private static partial Regex DockerVolumeNamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex OptionKeyPattern();

    /// <summary>The volumes' names, for mountPoints to refer to.</summary>
    public static IReadOnlySet<string> Validate(IReadOnlyList<Contract.Volume> volumes)
    {
        Limits.Count(volumes, Limits.MaxVolumes, "volumes");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < volumes.Count; i++)
        {
            var volume = volumes[i];
            var at = $"volumes[{i}]";
            Names.Require(volume.Name, $"{at}.name", "volume name");
            if (!names.Add(volume.Name))
            {
                throw RequestException.Invalid($"{at}.name", $"\"{Echo.Clip(volume.Name)}\" is used by another volume of this task definition");
            }

            if (volume.Host is not null && volume.DockerVolumeConfiguration is not null)
            {
                throw RequestException.Invalid(at, "give host or dockerVolumeConfiguration, not both");
            }

            if (volume.Host is { } host)
            {
                if (host.SourcePath.Length == 0)
                {
                    throw RequestException.Invalid($"{at}.host.sourcePath", "is required: an absolute path of the node (leave host out for an empty volume of the task)");
                }

                Paths.RequireAbsolute(host.SourcePath, $"{at}.host.sourcePath", rootAllowed: true);
            }

            if (volume.DockerVolumeConfiguration is { } docker)
            {
                CheckDockerVolume(docker, volume.Name, at);
            }
        }

        return names;
    }

    private static void CheckDockerVolume(Contract.DockerVolumeConfiguration docker, string name, string volumeAt)
    {
        var at = $"{volumeAt}.dockerVolumeConfiguration";
        var shared = docker.Scope switch
        {
            "" or "task" => false,
            "shared" => true,
            _ => throw RequestException.Invalid($"{at}.scope", $"must be \"task\" or \"shared\", not \"{Echo.Clip(docker.Scope)}\""),
        };
        if (docker.Autoprovision && !shared)
        {
            throw RequestException.Invalid($"{at}.autoprovision", "applies to \"shared\" volumes only: a \"task\" volume is always created with its task");
        }

        if (shared && !DockerVolumeNamePattern().IsMatch(name))
        {
            throw RequestException.Invalid($"{volumeAt}.name", $"\"{Echo.Clip(name)}\" cannot name a shared volume: it is the Docker volume's name, and Docker's start with a letter or digit and have at least 2 characters");
        }

        // A shared volume is used as the agent finds it: under one of the agent's own names it would be
        // another task's volume, which the agent removes with that task.
        if (shared && Contract.VolumeRules.SharedNameProblem(name) is { } nameProblem)
        {
            throw RequestException.Invalid($"{volumeAt}.name", nameProblem);
        }

        if (docker.Driver.Length > MaxDriverLength || (docker.Driver.Length > 0 && !DriverPattern().IsMatch(docker.Driver)))
        {
            throw RequestException.Invalid($"{at}.driver", $"\"{Echo.Clip(docker.Driver)}\" is not a volume driver name: letters, digits, '.', '_', '-' and '/', then an optional \":tag\", at most {MaxDriverLength} characters");
        }

        CheckDriverOptions(docker.DriverOpts, $"{at}.driverOpts", local: docker.Driver is "" or "local");
        TaskDefinitionValidator.CheckLabels(docker.Labels, $"{at}.labels");
    }

    private static void CheckDriverOptions(IReadOnlyDictionary<string, string> options, string field, bool local)
    {
        if (options.Count > Limits.MaxDriverOptions)
        {
            throw RequestException.Invalid(field, $"at most {Limits.MaxDriverOptions} allowed, got {options.Count}");
        }

        foreach (var (key, value) in options)
        {
            if (key.Length > Names.MaxLength || !OptionKeyPattern().IsMatch(key))
            {
                throw RequestException.Invalid(field, $"\"{Echo.Clip(key)}\" is not an option name: 1 to {Names.MaxLength} letters, digits, '.', '_' and '-', starting with a letter or digit");
            }

            OptionValues.Check(value, $"{field}[{key}]");
        }

        // The local driver mounts what its options say, and a bind, an overlay of node directories or a
        // disk device would reach the node's files around the paths its agent allows (host.sourcePath).
        // The agent refuses the same options by the same rule; refusing here names the field at once.
        if (local && Contract.VolumeRules.LocalDriverProblem(options) is { } problem)
        {
            throw RequestException.Invalid(field, problem);
        }
    }
}
