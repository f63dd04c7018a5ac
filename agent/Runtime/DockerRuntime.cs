using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Orchestrator.Agent.Runtime;

/// <summary>The container runtime on the host's Docker engine, through Docker.DotNet. The only class that touches it.</summary>
internal sealed partial class DockerRuntime : IContainerRuntime, IDisposable
{
    private readonly DockerClient _client;
    private readonly string _endpoint;

    public DockerRuntime(string endpoint)
    {
        _endpoint = endpoint;
        _client = new DockerClientConfiguration(new Uri(endpoint)).CreateClient();
    }

    public RuntimeCapabilities Capabilities => RuntimeCapabilities.OfDocker;

    public async Task<RuntimeInfo> InfoAsync(CancellationToken cancellation)
    {
        try
        {
            var info = await _client.System.GetSystemInfoAsync(cancellation);
            return new RuntimeInfo((int)info.NCPU, info.MemTotal, info.OSType ?? "linux", info.Architecture ?? "", info.ServerVersion ?? "", info.LiveRestoreEnabled);
        }
        catch (Exception e) when (e is DockerApiException || IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    public async Task EnsureImageAsync(string image, CancellationToken cancellation)
    {
        try
        {
            await _client.Images.InspectImageAsync(image, cancellation);
            return;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Not here: pull it.
        }

        var (name, tag) = SplitReference(image);
        string? error = null;
        try
        {
            await _client.Images.CreateImageAsync(
                new ImagesCreateParameters { FromImage = name, Tag = tag },
                null,
                new Progress<JSONMessage>(m => error ??= string.IsNullOrEmpty(m.ErrorMessage) ? null : m.ErrorMessage),
                cancellation);
        }
        catch (DockerApiException e)
        {
            throw new ImagePullException(PullFailure(image, FirstLine(e.ResponseBody, e.Message)), e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new ImagePullException(PullFailure(image, e.Message), e);
        }

        try
        {
            await _client.Images.InspectImageAsync(image, cancellation);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ImagePullException(PullFailure(image, error ?? "not on this host and the pull brought nothing"), e);
        }
    }

    public async Task<string> CreateAsync(ContainerSpec spec, CancellationToken cancellation)
    {
        var options = spec.Options;
        var exposed = new Dictionary<string, EmptyStruct>();
        var bindings = new Dictionary<string, IList<PortBinding>>();
        foreach (var port in spec.Ports)
        {
            var key = $"{port.ContainerPort}/{(port.Udp ? "udp" : "tcp")}";
            exposed[key] = default;

            // On the host's network a container's ports are its own: there is nothing to publish (Docker
            // would only warn and drop the bindings). They stay exposed, which is how ToInfo finds them.
            if (options.HostNetwork)
            {
                continue;
            }

            if (!bindings.TryGetValue(key, out var list))
            {
                bindings[key] = list = [];
            }

            list.Add(new PortBinding { HostIP = port.HostIp, HostPort = port.HostPort.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        var parameters = new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Cmd = spec.Command.Count > 0 ? [.. spec.Command] : null,
            Entrypoint = spec.EntryPoint.Count > 0 ? [.. spec.EntryPoint] : null,
            Env = EnvironmentOf(spec),
            Labels = new Dictionary<string, string>(spec.Labels),
            ExposedPorts = exposed,
            StopTimeout = TimeSpan.FromSeconds(spec.StopTimeoutSeconds),
            Healthcheck = spec.HealthCheck is { } check
                ? new HealthConfig { Test = [.. check.Test], Interval = check.Interval, Timeout = check.Timeout, Retries = check.Retries, StartPeriod = (long)check.StartPeriod.TotalNanoseconds }
                : null,
            Hostname = NullIfEmpty(options.Hostname),
            User = NullIfEmpty(options.User),
            WorkingDir = NullIfEmpty(options.WorkingDirectory),
            Tty = options.Tty,
            OpenStdin = options.OpenStdin,
            HostConfig = new HostConfig
            {
                CPUShares = spec.CpuShares,
                Memory = spec.MemoryBytes,
                // No swap beyond the hard limit: a task over its memory is OOM-killed, as on ECS.
                MemorySwap = spec.MemoryBytes > 0 ? spec.MemoryBytes : 0,
                MemoryReservation = spec.MemoryReservationBytes,
                PortBindings = bindings,
                Init = options.Init,
                // The Mounts API, not Binds: a host path that does not exist is refused by the engine
                // (Binds would create it, as root, wherever the task asked).
                Mounts = options.Mounts.Count > 0 ? [.. options.Mounts.Select(ToMount)] : null,
                Tmpfs = options.Tmpfs.Count > 0 ? options.Tmpfs.ToDictionary(t => t.ContainerPath, TmpfsOptions) : null,
                VolumesFrom = NullIfEmpty(options.VolumesFrom),
                CapAdd = NullIfEmpty(options.CapabilitiesAdded),
                CapDrop = NullIfEmpty(options.CapabilitiesDropped),
                ShmSize = options.SharedMemoryBytes,
                LogConfig = options.Log is { } log ? new LogConfig { Type = log.Driver, Config = new Dictionary<string, string>(log.Options) } : null,
                NetworkMode = NullIfEmpty(options.NetworkMode),
                Links = NullIfEmpty(options.Links),
                ExtraHosts = NullIfEmpty(options.ExtraHosts),
                DNS = NullIfEmpty(options.DnsServers),
                DNSSearch = NullIfEmpty(options.DnsSearchDomains),
                Ulimits = options.Ulimits.Count > 0 ? [.. options.Ulimits.Select(u => new Ulimit { Name = u.Name, Soft = u.Soft, Hard = u.Hard })] : null,
                ReadonlyRootfs = options.ReadonlyRootFilesystem,
                Privileged = options.Privileged,
            },
            NetworkingConfig = options.NetworkAliases.Count > 0
                ? new NetworkingConfig { EndpointsConfig = new Dictionary<string, EndpointSettings> { [options.NetworkMode] = new EndpointSettings { Aliases = [.. options.NetworkAliases] } } }
                : null,
        };

        try
        {
            var created = await _client.Containers.CreateContainerAsync(parameters, cancellation);
            return created.ID;
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"CannotCreateContainerError: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    public async Task StartAsync(string id, CancellationToken cancellation)
    {
        try
        {
            await _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellation);
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"CannotStartContainerError: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    public async Task StopAsync(string id, TimeSpan timeout, CancellationToken cancellation)
    {
        try
        {
            await _client.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)Math.Max(0, timeout.TotalSeconds) }, cancellation);
        }
        catch (DockerContainerNotFoundException)
        {
            // Already gone.
        }
    }

    public Task RemoveLeftoversAsync(CancellationToken cancellation) => Task.CompletedTask;

    public async Task RemoveAsync(string id, CancellationToken cancellation)
    {
        try
        {
            await _client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, cancellation);
        }
        catch (DockerContainerNotFoundException)
        {
            // Already gone.
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            // Removal already in progress.
        }
    }

    public async Task<ContainerInfo?> InspectAsync(string id, CancellationToken cancellation)
    {
        try
        {
            var info = ToInfo(await _client.Containers.InspectContainerAsync(id, cancellation));

            // dockerd sets OOMKilled from containerd's OOM event, which can trail the exit itself: a
            // container the kernel's OOM killer just ended (SIGKILL, 137) may read as not OOM-killed for
            // a moment (seen here about once in four loaded end-to-end runs). Such a fresh 137 is read
            // again a few times, at most 300 ms in all, before its reason is settled.
            for (var retry = 0; retry < OomSettleRetries && IsFreshSigkill(info); retry++)
            {
                await Task.Delay(OomSettleStep, cancellation);
                info = ToInfo(await _client.Containers.InspectContainerAsync(id, cancellation));
            }

            return info;
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    private const int OomSettleRetries = 3;
    private static readonly TimeSpan OomSettleStep = TimeSpan.FromMilliseconds(100);

    private static bool IsFreshSigkill(ContainerInfo info) =>
        !info.Running && info.ExitCode == 137 && !info.OomKilled
        && info.FinishedAt is { } finished && DateTimeOffset.UtcNow - finished < TimeSpan.FromSeconds(1);

    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        var listed = await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{labelKey}={labelValue}"] = true } },
        }, cancellation);

        var result = new List<ContainerInfo>(listed.Count);
        foreach (var container in listed)
        {
            if (await InspectAsync(container.ID, cancellation) is { } info)
            {
                result.Add(info);
            }
        }

        return result;
    }

    public async IAsyncEnumerable<RuntimeEvent> EventsAsync(string labelKey, string labelValue, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var channel = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
        var parameters = new ContainerEventsParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["type"] = new Dictionary<string, bool> { ["container"] = true },
                ["label"] = new Dictionary<string, bool> { [$"{labelKey}={labelValue}"] = true },
            },
        };
        var monitor = Task.Run(async () =>
        {
            try
            {
                await _client.System.MonitorEventsAsync(parameters, new Progress<Message>(m => channel.Writer.TryWrite(m)), cancellation);
                channel.Writer.TryComplete(new RuntimeUnavailableException($"the Docker event stream at {_endpoint} ended"));
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e is OperationCanceledException ? null : new RuntimeUnavailableException($"the Docker event stream at {_endpoint} failed: {e.Message}", e));
            }
        }, CancellationToken.None);

        await foreach (var message in channel.Reader.ReadAllAsync(cancellation))
        {
            if (ToEvent(message) is { } runtimeEvent)
            {
                yield return runtimeEvent;
            }
        }

        await monitor;
    }

    public async Task CreateVolumeAsync(VolumeSpec spec, CancellationToken cancellation)
    {
        try
        {
            await _client.Volumes.CreateAsync(new VolumesCreateParameters
            {
                Name = spec.Name,
                Driver = spec.Driver,
                DriverOpts = new Dictionary<string, string>(spec.DriverOptions),
                Labels = new Dictionary<string, string>(spec.Labels),
            }, cancellation);
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"CannotCreateVolumeError: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    public async Task<bool> VolumeExistsAsync(string name, CancellationToken cancellation)
    {
        try
        {
            await _client.Volumes.InspectAsync(name, cancellation);
            return true;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"cannot look up volume {name}: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    public Task RemoveVolumeAsync(string name, CancellationToken cancellation) =>
        RemoveUnlessGoneAsync("volume", name, () => _client.Volumes.RemoveAsync(name, force: false, cancellation));

    public async Task<IReadOnlyList<LabelledResource>> ListVolumesAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        VolumesListResponse listed;
        try
        {
            listed = await _client.Volumes.ListAsync(new VolumesListParameters { Filters = LabelFilter(labelKey, labelValue) }, cancellation);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }

        return [.. (listed.Volumes ?? []).Select(v => new LabelledResource(v.Name, v.Labels is { } labels ? new Dictionary<string, string>(labels) : []))];
    }

    public async Task CreateNetworkAsync(NetworkSpec spec, CancellationToken cancellation)
    {
        try
        {
            await _client.Networks.CreateNetworkAsync(new NetworksCreateParameters
            {
                Name = spec.Name,
                Driver = "bridge",
                // Docker allows two networks of one name unless told not to; a second one would make
                // every later reference to the name ambiguous.
                CheckDuplicate = true,
                Labels = new Dictionary<string, string>(spec.Labels),
            }, cancellation);
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            // It exists: a start after an agent restart that had made it already.
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"CannotCreateNetworkError: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    public Task RemoveNetworkAsync(string name, CancellationToken cancellation) =>
        RemoveUnlessGoneAsync("network", name, () => _client.Networks.DeleteNetworkAsync(name, cancellation));

    /// <summary>Removes a volume or network; one already gone is fine, a refusal names it.</summary>
    private async Task RemoveUnlessGoneAsync(string kind, string name, Func<Task> remove)
    {
        try
        {
            await remove();
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"cannot remove {kind} {name}: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    public async Task<IReadOnlyList<LabelledResource>> ListNetworksAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        IList<NetworkResponse> listed;
        try
        {
            listed = await _client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = LabelFilter(labelKey, labelValue) }, cancellation);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }

        return [.. listed.Select(n => new LabelledResource(n.Name, n.Labels is { } labels ? new Dictionary<string, string>(labels) : []))];
    }

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// What Docker.DotNet lets escape when the engine is not there to answer (dockerd restarting, its
    /// socket gone): not a refusal of the request, and the callers treat it as the engine being away.
    /// </summary>
    private static bool IsConnectionLost(Exception e) =>
        e is HttpRequestException or IOException or TimeoutException or System.Net.Sockets.SocketException;

    private RuntimeUnavailableException Unreachable(Exception e) => new($"Docker is not reachable at {_endpoint}: {e.Message}", e);

    /// <summary>
    /// The plain variables, then the secret ones. Where both have a name the secret wins: the plain one
    /// is left out, since with both in the list a process's getenv would find the first.
    /// </summary>
    private static List<string> EnvironmentOf(ContainerSpec spec)
    {
        var secrets = spec.Options.SecretEnvironment;
        var names = secrets.Select(v => v.Name + "=").ToList();
        return [.. spec.Environment.Where(e => !names.Any(n => e.StartsWith(n, StringComparison.Ordinal))), .. secrets.Select(v => $"{v.Name}={v.Value}")];
    }

    private static Dictionary<string, IDictionary<string, bool>> LabelFilter(string key, string value) =>
        new() { ["label"] = new Dictionary<string, bool> { [$"{key}={value}"] = true } };

    private static Mount ToMount(MountSpec mount) => new()
    {
        Type = mount.Kind == MountKind.Bind ? "bind" : "volume",
        Source = mount.Source,
        Target = mount.Target,
        ReadOnly = mount.ReadOnly,
    };

    /// <summary>Docker's --tmpfs value: "size=64m,noexec,...".</summary>
    private static string TmpfsOptions(TmpfsSpec tmpfs)
    {
        const long MiB = 1024 * 1024;
        var size = tmpfs.SizeBytes switch
        {
            <= 0 => [],
            var bytes when bytes % MiB == 0 => [$"size={bytes / MiB}m"],
            var bytes => new[] { $"size={bytes}" },
        };
        return string.Join(',', size.Concat(tmpfs.Options));
    }

    private static string? NullIfEmpty(string value) => value.Length > 0 ? value : null;

    private static List<string>? NullIfEmpty(IReadOnlyList<string> values) => values.Count > 0 ? [.. values] : null;

    private static RuntimeEvent? ToEvent(Message message)
    {
        IReadOnlyDictionary<string, string> attributes = message.Actor?.Attributes is { } given ? new Dictionary<string, string>(given) : [];
        var id = message.Actor?.ID ?? message.ID;
        var action = message.Action ?? "";
        if (action == "start")
        {
            return new RuntimeEvent(RuntimeEventKind.Started, id, attributes, null, ContainerHealth.None);
        }

        if (action == "die")
        {
            int? exitCode = attributes.TryGetValue("exitCode", out var code) && int.TryParse(code, out var parsed) ? parsed : null;
            return new RuntimeEvent(RuntimeEventKind.Died, id, attributes, exitCode, ContainerHealth.None);
        }

        if (action == "oom")
        {
            return new RuntimeEvent(RuntimeEventKind.OutOfMemory, id, attributes, null, ContainerHealth.None);
        }

        if (action.StartsWith("health_status", StringComparison.Ordinal))
        {
            var health = action.EndsWith("unhealthy", StringComparison.Ordinal) ? ContainerHealth.Unhealthy
                : action.EndsWith("healthy", StringComparison.Ordinal) ? ContainerHealth.Healthy
                : ContainerHealth.Starting;
            return new RuntimeEvent(RuntimeEventKind.HealthChanged, id, attributes, null, health);
        }

        return null;
    }

    /// <summary>
    /// The task's failure reason for a pull: the engine's text names the registry it could not reach, not
    /// always the image, so the reference is added where it is missing (the containerd runtime says the same).
    /// </summary>
    private static string PullFailure(string image, string detail) =>
        detail.Contains(image, StringComparison.Ordinal) ? $"CannotPullContainerError: {detail}" : $"CannotPullContainerError: {image}: {detail}";

    private static ContainerInfo ToInfo(ContainerInspectResponse inspect)
    {
        var state = inspect.State;
        var running = state?.Running == true;
        var ports = new List<PortSpec>();
        foreach (var (key, list) in inspect.NetworkSettings?.Ports ?? new Dictionary<string, IList<PortBinding>>())
        {
            var parts = key.Split('/');
            if (list is null || !int.TryParse(parts[0], out var containerPort))
            {
                continue;
            }

            foreach (var binding in list)
            {
                if (int.TryParse(binding.HostPort, out var hostPort))
                {
                    ports.Add(new PortSpec(containerPort, hostPort, parts.Length > 1 && parts[1] == "udp", binding.HostIP ?? ""));
                }
            }
        }

        // On the host's network nothing is published: the ports it exposes are the host's own.
        if (inspect.HostConfig?.NetworkMode == "host")
        {
            foreach (var key in inspect.Config?.ExposedPorts?.Keys ?? [])
            {
                var parts = key.Split('/');
                if (int.TryParse(parts[0], out var port))
                {
                    ports.Add(new PortSpec(port, port, parts.Length > 1 && parts[1] == "udp", "0.0.0.0"));
                }
            }
        }

        var health = state?.Health?.Status switch
        {
            "healthy" => ContainerHealth.Healthy,
            "unhealthy" => ContainerHealth.Unhealthy,
            "starting" => ContainerHealth.Starting,
            _ => ContainerHealth.None,
        };

        return new ContainerInfo(
            inspect.ID,
            inspect.Config?.Labels is { } labels ? new Dictionary<string, string>(labels) : [],
            running,
            running || state is null || string.IsNullOrEmpty(state.FinishedAt) || state.FinishedAt.StartsWith("0001", StringComparison.Ordinal) ? null : (int)state.ExitCode,
            state?.OOMKilled == true,
            state?.Error ?? "",
            health,
            ports,
            ParseTime(state?.StartedAt),
            ParseTime(state?.FinishedAt));
    }

    private static DateTimeOffset? ParseTime(string? value) =>
        DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time) && time.Year > 1 ? time : null;

    private static (string Name, string Tag) SplitReference(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            return (image[..at], image[(at + 1)..]);
        }

        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    private static string FirstLine(string? body, string fallback)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return fallback;
        }

        // Docker answers {"message":"..."}.
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            if (json.RootElement.TryGetProperty("message", out var message))
            {
                return message.GetString() ?? fallback;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON: use it as it is.
        }

        return body.Trim().Split('\n')[0];
    }
}
