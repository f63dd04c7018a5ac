using System.Text.RegularExpressions;
using System.Text.Unicode;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// What a task needs on this host besides its containers: its own Docker volumes, the shared volumes
/// it uses, its own network (awsvpc) and its secret files. Made before the containers are created,
/// after this agent's policy has been checked; removed with the containers, after a failed start, and
/// at agent start for tasks the agent no longer has. Volumes and networks of a task carry its id and
/// this node's name as labels, so that they are found again whatever the agent forgot.
/// </summary>
internal sealed partial class TaskEnvironment(IContainerRuntime runtime, AgentIdentity identity, ILogger log)
{
    /// <summary>How host paths are looked at: <see cref="HostPaths.ReadLink"/>, or a test's stand-in (tests run as root, whom no permission stops).</summary>
    public Func<string, string?> ReadLink { get; init; } = HostPaths.ReadLink;

    private WorkloadSettings Settings => identity.Workload;

    /// <summary>The Docker volume of a task-scoped volume.</summary>
    public static string VolumeName(string taskId, string volume) => $"orch-{taskId[..12]}-{volume}";

    /// <summary>The Docker network of an awsvpc task.</summary>
    public static string NetworkName(string taskId) => $"orch-{taskId[..12]}";

    /// <summary>A volume used by its own name and kept after the task: dockerVolumeConfiguration with scope shared.</summary>
    public static bool IsShared(Volume volume) => volume.DockerVolumeConfiguration is { Scope: "shared" };

    /// <summary>
    /// Checks the task against this node's policy and its own references, then makes its secret files,
    /// volumes and network. What is made before a failure is left for <see cref="RemoveAsync"/>.
    /// </summary>
    /// <returns>
    /// The host volumes' paths with every symbolic link followed, by volume name: what Docker binds, so
    /// that the path checked is the path mounted, not a string read again through links later.
    /// </returns>
    /// <exception cref="TaskEnvironmentException">The task cannot run here; the message is its stopped reason.</exception>
    /// <exception cref="ContainerOperationException">The engine refused a volume or the network.</exception>
    public async Task<IReadOnlyDictionary<string, string>> PrepareAsync(StartTaskCommand command, CancellationToken cancellation)
    {
        var hostSources = Check(command);
        WriteSecretFiles(command);
        var task = command.TaskDefinition;
        foreach (var volume in task.Volumes.Where(v => v.Host is null))
        {
            await PrepareVolumeAsync(command, volume, cancellation);
        }

        if (NetworkModes.Of(task) == NetworkModes.Awsvpc)
        {
            await runtime.CreateNetworkAsync(new NetworkSpec(NetworkName(command.TaskId), OwnLabels(command.TaskId, command.Cluster)), cancellation);
        }

        return hostSources;
    }

    /// <summary>
    /// Checks a resolved host path again right before a container that binds it starts: a container of
    /// the task started earlier may have put a link in its place, in a directory it can write.
    /// </summary>
    /// <exception cref="TaskEnvironmentException">It is no longer the path it was, or no longer allowed.</exception>
    public void RecheckHostSource(string volume, string resolved)
    {
        if (CheckHostPath(volume, resolved) != resolved)
        {
            throw new TaskEnvironmentException($"volume \"{volume}\": host path {resolved} has become a symbolic link since the task was checked");
        }
    }

    /// <summary>Removes a task's volumes (never a shared one), network and secret files. Never throws: a failure is logged, and what stays is removed at the agent's next start.</summary>
    public async Task RemoveAsync(string taskId, CancellationToken cancellation)
    {
        await TryAsync(taskId, async () =>
        {
            foreach (var volume in await runtime.ListVolumesAsync(ContainerLabels.TaskId, taskId, cancellation))
            {
                if (volume.Labels.GetValueOrDefault(ContainerLabels.Node) == identity.NodeName)
                {
                    await runtime.RemoveVolumeAsync(volume.Name, cancellation);
                }
            }
        });
        await ReleaseAsync(taskId, cancellation);
    }

    /// <summary>
    /// Removes what a stopped task no longer needs and its stopped containers do not hold: its network
    /// (an address range of Docker's few pools) and its secret files (values on the host). Its volumes stay
    /// with its containers, for inspection. Never throws: a network Docker still refuses is removed with
    /// the containers after the retention, or at the agent's next start.
    /// </summary>
    public async Task ReleaseAsync(string taskId, CancellationToken cancellation)
    {
        await TryAsync(taskId, async () =>
        {
            foreach (var network in await runtime.ListNetworksAsync(ContainerLabels.TaskId, taskId, cancellation))
            {
                if (network.Labels.GetValueOrDefault(ContainerLabels.Node) == identity.NodeName)
                {
                    await runtime.RemoveNetworkAsync(network.Name, cancellation);
                }
            }
        });
        if (Settings.SecretsDirectory.Length > 0 && IsSafeSegment(taskId) && IsSafeSegment(identity.NodeName))
        {
            await TryAsync(taskId, () =>
            {
                SecretFiles.RemoveTask(Settings.SecretsDirectory, identity.NodeName, taskId);
                return Task.CompletedTask;
            });
        }
    }

    /// <summary>
    /// At agent start, once the tasks on this node are known: removes the volumes, networks and secret
    /// files of any other task (its containers were removed while the agent was down, or it died in
    /// the middle of a start or a removal).
    /// </summary>
    public async Task RemoveLeftoversAsync(IReadOnlyCollection<string> knownTaskIds, CancellationToken cancellation)
    {
        var known = knownTaskIds.ToHashSet(StringComparer.Ordinal);
        var leftovers = new HashSet<string>(StringComparer.Ordinal);
        await TryAsync("", async () =>
        {
            var volumes = await runtime.ListVolumesAsync(ContainerLabels.Node, identity.NodeName, cancellation);
            var networks = await runtime.ListNetworksAsync(ContainerLabels.Node, identity.NodeName, cancellation);
            leftovers.UnionWith(volumes.Concat(networks).Select(r => r.Labels.GetValueOrDefault(ContainerLabels.TaskId, "")).Where(id => id.Length > 0 && !known.Contains(id)));
        });
        if (Settings.SecretsDirectory.Length > 0 && IsSafeSegment(identity.NodeName))
        {
            // Only this node's directory: other agents of the host keep theirs under the same root.
            await TryAsync("", () =>
            {
                leftovers.UnionWith(SecretFiles.Tasks(Settings.SecretsDirectory, identity.NodeName).Where(id => !known.Contains(id)));
                return Task.CompletedTask;
            });
        }

        foreach (var taskId in leftovers)
        {
            await RemoveAsync(taskId, cancellation);
        }

        if (leftovers.Count > 0)
        {
            LogLeftoversRemoved(log, leftovers.Count);
        }
    }

    /// <summary>Everything that would make the task fail here, before anything is made.</summary>
    /// <returns>The resolved host paths, by volume name.</returns>
    private Dictionary<string, string> Check(StartTaskCommand command)
    {
        var hostSources = new Dictionary<string, string>(StringComparer.Ordinal);
        var task = command.TaskDefinition;
        if (command.TaskId.Length < 12 || !SafeName().IsMatch(command.TaskId))
        {
            throw new TaskEnvironmentException($"task id \"{command.TaskId}\" is not one this agent can name things after");
        }

        // An older scheduler (or a node that changed runtime since placement) may send what this runtime
        // cannot run: refused before anything is made, in the words the scheduler's placement uses.
        if (runtime.Capabilities.Name != RuntimeSupport.Docker && RuntimeSupport.DockerOnlyFeatures(task) is { Count: > 0 } dockerOnly)
        {
            throw new TaskEnvironmentException($"CannotCreateContainerError: {RuntimeSupport.Explain(runtime.Capabilities.Name, dockerOnly)}");
        }

        var mode = NetworkModes.Of(task);
        if (!NetworkModes.All.Contains(mode))
        {
            throw new TaskEnvironmentException($"network mode \"{mode}\" is not one this agent knows ({string.Join(", ", NetworkModes.All)})");
        }

        foreach (var volume in task.Volumes)
        {
            if (!SafeName().IsMatch(volume.Name))
            {
                throw new TaskEnvironmentException($"volume \"{volume.Name}\": a volume name is letters, digits, '-' and '_'");
            }

            if (volume.Host is { } host)
            {
                hostSources[volume.Name] = CheckHostPath(volume.Name, host.SourcePath);
            }

            CheckDockerVolume(volume);
        }

        var containers = task.ContainerDefinitions.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var container in task.ContainerDefinitions)
        {
            CheckContainer(command, container, containers);
        }

        return hostSources;
    }

    private void CheckContainer(StartTaskCommand command, ContainerDefinition container, HashSet<string> containers)
    {
        var name = container.Name;
        if (!SafeName().IsMatch(name))
        {
            throw new TaskEnvironmentException($"container \"{name}\": a container name is letters, digits, '-' and '_'");
        }

        if (container.Privileged && !Settings.AllowPrivileged)
        {
            throw new TaskEnvironmentException($"container \"{name}\" is privileged, which this node does not allow (Agent:AllowPrivileged is false)");
        }

        if (ContainerPrivileges.HostEquivalentCapability(container, NetworkModes.Of(command.TaskDefinition)) is { } capability && !Settings.AllowPrivileged)
        {
            throw new TaskEnvironmentException($"container \"{name}\" adds capability {capability}, which gives it the host as privileged does, and this node does not allow that (Agent:AllowPrivileged is false)");
        }

        if (container.MountPoints.FirstOrDefault(m => command.TaskDefinition.Volumes.All(v => v.Name != m.SourceVolume)) is { } mount)
        {
            throw new TaskEnvironmentException($"container \"{name}\": no volume named \"{mount.SourceVolume}\" in the task's volumes");
        }

        var others = container.VolumesFrom.Select(v => v.SourceContainer).Concat(container.Links.Select(l => l.Split(':')[0]));
        if (others.FirstOrDefault(other => other == name || !containers.Contains(other)) is { } missing)
        {
            throw new TaskEnvironmentException($"container \"{name}\": no other container named \"{missing}\" in the task (volumesFrom, links)");
        }

        if (VolumeRules.SecretFilesSource(container, command.TaskDefinition.ContainerDefinitions) is { } source)
        {
            throw new TaskEnvironmentException($"container \"{name}\": volumesFrom \"{source}\" would pass on its secret files (Docker copies every mount of the source, /run/secrets too)");
        }

        foreach (var secret in container.Secrets)
        {
            if (!command.SecretValues.ContainsKey(secret.ValueFrom))
            {
                throw new TaskEnvironmentException($"secret \"{secret.ValueFrom}\" was not sent (deleted?)");
            }

            if (!secret.AsFile && command.SecretValues[secret.ValueFrom].Span is var value && (!Utf8.IsValid(value) || value.Contains((byte)0)))
            {
                // An environment variable is a C string of text: Docker would cut it at the NUL or mangle
                // the bytes. The message names the secret, never its value.
                throw new TaskEnvironmentException($"secret \"{secret.ValueFrom}\" is binary (or holds a NUL): give it asFile");
            }

            if (secret.AsFile && !IsSafeSegment(secret.Name))
            {
                throw new TaskEnvironmentException($"container \"{name}\": secret file name \"{secret.Name}\" is not a plain file name");
            }
        }

        if (container.Secrets.Any(s => s.AsFile) && Settings.SecretsDirectory.Length == 0)
        {
            throw new TaskEnvironmentException($"container \"{name}\" has secret files, and this agent has no Agent:SecretsDirectory");
        }

        if (container.Secrets.Any(s => s.AsFile) && !IsSafeSegment(identity.NodeName))
        {
            throw new TaskEnvironmentException($"container \"{name}\" has secret files, and this node's name \"{identity.NodeName}\" cannot name their directory");
        }
    }

    /// <summary>
    /// The shared rules the scheduler applies at registration, again here: a definition registered
    /// before them, or a scheduler that skipped them, must not reach the node's files through the local
    /// driver's options nor take the name of another task's own volume.
    /// </summary>
    private static void CheckDockerVolume(Volume volume)
    {
        if (volume.DockerVolumeConfiguration is not { } configuration)
        {
            return;
        }

        if (configuration.Driver is "" or "local" && VolumeRules.LocalDriverProblem(configuration.DriverOpts) is { } problem)
        {
            throw new TaskEnvironmentException($"volume \"{volume.Name}\": driverOpts: {problem}");
        }

        if (IsShared(volume) && VolumeRules.SharedNameProblem(volume.Name) is { } nameProblem)
        {
            throw new TaskEnvironmentException($"volume \"{volume.Name}\": a shared volume may not take this name: {nameProblem}");
        }
    }

    /// <returns>The path with its links followed.</returns>
    private string CheckHostPath(string volume, string path)
    {
        var allowed = string.Join(", ", Settings.AllowedHostPaths);
        if (!HostPaths.IsNormal(path))
        {
            throw new TaskEnvironmentException($"volume \"{volume}\": host path \"{path}\" is not an absolute path without \".\" or \"..\" segments");
        }

        string resolved;
        string? root;
        try
        {
            (resolved, root) = HostPaths.Locate(path, Settings.AllowedHostPaths, ReadLink);
        }
        catch (IOException e)
        {
            throw new TaskEnvironmentException($"volume \"{volume}\": host path {path} cannot be checked against Agent:AllowedHostPaths ({e.Message})");
        }

        if (root is null)
        {
            throw new TaskEnvironmentException($"volume \"{volume}\": host path {path} is not under a path this node allows (Agent:AllowedHostPaths: {allowed})");
        }

        return resolved;
    }

    private void WriteSecretFiles(StartTaskCommand command)
    {
        foreach (var container in command.TaskDefinition.ContainerDefinitions.Where(c => c.Secrets.Any(s => s.AsFile)))
        {
            var files = container.Secrets.Where(s => s.AsFile)
                .Select(s => KeyValuePair.Create(s.Name, command.SecretValues[s.ValueFrom].Memory));
            try
            {
                SecretFiles.Write(Settings.SecretsDirectory, identity.NodeName, command.TaskId, container.Name, files);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The message names a path, never a value.
                throw new TaskEnvironmentException($"container \"{container.Name}\": cannot write its secret files under Agent:SecretsDirectory {Settings.SecretsDirectory}: {e.Message}");
            }
        }
    }

    private async Task PrepareVolumeAsync(StartTaskCommand command, Volume volume, CancellationToken cancellation)
    {
        var configuration = volume.DockerVolumeConfiguration ?? new DockerVolumeConfiguration();
        var driver = configuration.Driver.Length > 0 ? configuration.Driver : "local";
        if (IsShared(volume))
        {
            // Used by its own name, as on ECS; made only when the task says so.
            if (await runtime.VolumeExistsAsync(volume.Name, cancellation))
            {
                return;
            }

            if (!configuration.Autoprovision)
            {
                throw new TaskEnvironmentException($"volume \"{volume.Name}\": the shared Docker volume {volume.Name} does not exist on this node, and autoprovision is false");
            }

            await runtime.CreateVolumeAsync(new VolumeSpec(volume.Name, driver, configuration.DriverOpts, configuration.Labels), cancellation);
            return;
        }

        var labels = new Dictionary<string, string>(configuration.Labels);
        foreach (var (key, value) in OwnLabels(command.TaskId, command.Cluster))
        {
            labels[key] = value;
        }

        await runtime.CreateVolumeAsync(new VolumeSpec(VolumeName(command.TaskId, volume.Name), driver, configuration.DriverOpts, labels), cancellation);
    }

    private Dictionary<string, string> OwnLabels(string taskId, string cluster) => new(StringComparer.Ordinal)
    {
        [ContainerLabels.TaskId] = taskId,
        [ContainerLabels.Cluster] = cluster,
        [ContainerLabels.Node] = identity.NodeName,
    };

    private async Task TryAsync(string taskId, Func<Task> removal)
    {
        try
        {
            await removal();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A removal that fails must not turn a task's report into a crash; what stays is found at
            // the next start by its labels.
            LogRemovalFailed(log, taskId, e.Message);
        }
    }

    /// <summary>Safe as one path segment or the end of a Docker name.</summary>
    private static bool IsSafeSegment(string value) => value is not ("" or "." or "..") && !value.Contains('/', StringComparison.Ordinal) && !value.Contains('\0', StringComparison.Ordinal);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex SafeName();

    [LoggerMessage(40, LogLevel.Warning, "Task {TaskId}: removing its volumes, network or secret files failed ({Problem}); trying again at the agent's next start")]
    private static partial void LogRemovalFailed(ILogger logger, string taskId, string problem);

    [LoggerMessage(41, LogLevel.Information, "Removed the volumes, networks and secret files of {Tasks} tasks this agent no longer has")]
    private static partial void LogLeftoversRemoved(ILogger logger, int tasks);
}

/// <summary>A task cannot run on this node as it is (its policy, a missing secret, a bad reference); the message is the task's stopped reason.</summary>
internal sealed class TaskEnvironmentException(string message) : Exception(message);
