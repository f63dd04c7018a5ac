using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// What one container mounts: mountPoints of the task's volumes and linuxParameters.tmpfs. Each container
/// path takes one mount (Docker refuses a second: "Duplicate mount point"), and a container with secrets
/// as files keeps /run/secrets for them.
/// </summary>
internal static class MountPointValidator
{
    public static void Check(Contract.ContainerDefinition container, string at, IReadOnlySet<string> volumeNames)
    {
        var targets = new Dictionary<string, string>(StringComparer.Ordinal);
        var secretFiles = container.Secrets.Any(s => s.AsFile);
        Limits.Count(container.MountPoints, Limits.MaxMountPoints, $"{at}.mountPoints");
        for (var i = 0; i < container.MountPoints.Count; i++)
        {
            var mount = container.MountPoints[i];
            var field = $"{at}.mountPoints[{i}]";
            if (mount.SourceVolume.Length == 0)
            {
                throw RequestException.Invalid($"{field}.sourceVolume", "is required: the name of one of the task definition's volumes");
            }

            if (!volumeNames.Contains(mount.SourceVolume))
            {
                throw RequestException.Invalid($"{field}.sourceVolume", $"no volume named \"{Echo.Clip(mount.SourceVolume)}\" in volumes");
            }

            Paths.RequireAbsolute(mount.ContainerPath, $"{field}.containerPath", rootAllowed: false);
            Claim(targets, mount.ContainerPath, $"{field}.containerPath", secretFiles);
        }

        IReadOnlyList<Contract.Tmpfs> tmpfs = container.LinuxParameters?.Tmpfs ?? [];
        Limits.Count(tmpfs, Limits.MaxTmpfs, $"{at}.linuxParameters.tmpfs");
        for (var i = 0; i < tmpfs.Count; i++)
        {
            var field = $"{at}.linuxParameters.tmpfs[{i}]";
            TmpfsValidator.Check(tmpfs[i], field);
            Claim(targets, tmpfs[i].ContainerPath, $"{field}.containerPath", secretFiles);
        }
    }

    private static void Claim(Dictionary<string, string> targets, string path, string field, bool secretFiles)
    {
        if (targets.TryGetValue(path, out var other))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(path)}\" is already mounted by {other}");
        }

        if (secretFiles && Paths.IsAtOrUnder(path, SecretReferenceValidator.FileDirectory))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(path)}\" is where this container's secrets with asFile are ({SecretReferenceValidator.FileDirectory}); mount it elsewhere");
        }

        targets[path] = field;
    }
}
