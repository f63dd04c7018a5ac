using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Orchestrator.Agent.Runtime.Containerd.Cni;
using Orchestrator.Agent.Runtime.Containerd.Oci;
using Orchestrator.Agent.Runtime.Logs;
using ContainerRecord = Containerd.Services.Containers.V1.Container;
using Mount = Containerd.Types.Mount;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>Create, start, stop and remove: a container is a snapshot, a network, three sandbox files and a containerd container; its task is the running process.</summary>
internal sealed partial class ContainerdRuntime
{
    /// <summary>How long a removal waits for a killed task to be gone before deleting it anyway.</summary>
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    public async Task<string> CreateAsync(ContainerSpec spec, CancellationToken cancellation)
    {
        var id = spec.Name;
        if (spec.Options.Tty || spec.Options.OpenStdin)
        {
            throw new ContainerOperationException("CannotCreateContainerError: pseudoTerminal and interactive need the docker runtime; this node runs containerd");
        }

        var mode = spec.Options.NetworkMode switch
        {
            "" or "bridge" => "bridge",
            "none" => "none",
            "host" => "host",
            var other => throw new ContainerOperationException($"CannotCreateContainerError: network mode {other} needs the docker runtime; this node runs containerd"),
        };

        if (await GetContainerAsync(id, cancellation) is not null)
        {
            throw Conflict(id);
        }

        ImageConfig image;
        try
        {
            image = await _images.EnsureAsync(spec.Image, cancellation);
        }
        catch (ImagePullException e)
        {
            throw new ContainerOperationException($"CannotCreateContainerError: {WithoutPrefix(e.Message)}", e);
        }

        // The snapshot is garbage to containerd's collector until the container refers to it (an unpack's
        // end triggers a collection): made under a lease, as containerd's own client does, until then.
        var lease = await CreateLeaseAsync(id, cancellation);
        var leased = new Metadata { { Images.ContainerdLease.Header, lease } };

        // What is made so far, undone in reverse when a later step fails: nothing of a failed create stays.
        var snapshotMade = false;
        var networkMade = false;
        var sandbox = Path.Combine(SandboxDirectory, id);
        try
        {
            IReadOnlyList<Mount> mounts;
            try
            {
                var prepared = await _clients.Snapshots.PrepareAsync(new global::Containerd.Services.Snapshots.V1.PrepareSnapshotRequest
                {
                    Snapshotter = _options.Snapshotter,
                    Key = id,
                    Parent = image.ChainId,
                }, leased, cancellationToken: cancellation);
                mounts = prepared.Mounts;
                snapshotMade = true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
            {
                // Someone else's (a create racing this one): not ours to undo.
                throw Conflict(id);
            }

            SandboxNetwork network;
            if (mode == "host")
            {
                // The host's network needs no plugin: the container's ports are the host's own.
                network = new SandboxNetwork(null, null, [.. spec.Ports.Select(p => p with { HostPort = p.ContainerPort, HostIp = "0.0.0.0" })]);
            }
            else
            {
                network = await _network.SetUpAsync(id, mode, spec.Ports, cancellation);
                networkMade = true;
            }

            Directory.CreateDirectory(sandbox);
            var files = SandboxFiles.Write(sandbox, spec, network.Address);
            var user = RootfsUsers.Resolve(spec.Options.User.Length > 0 ? spec.Options.User : image.User, RootfsDirectories(mounts));
            var cgroup = $"/{_options.Namespace}/{id}";
            var json = OciSpecBuilder.Build(new OciSpecInput(
                spec,
                image,
                network.NetworkNamespacePath,
                files.Hosts,
                files.ResolvConf,
                files.Hostname,
                cgroup,
                spec.Options.Init ? InitPath() : null,
                _volumes.PathOf,
                user));

            var labels = new Dictionary<string, string>(spec.Labels)
            {
                [RuntimeLabels.Ports] = RuntimeLabels.FormatPorts(network.Ports),
                [RuntimeLabels.NetworkMode] = mode,
                [RuntimeLabels.StopSignal] = image.StopSignal,
                [RuntimeLabels.Cgroup] = cgroup,
            };
            if (RuntimeLabels.LogLimits(spec.Options.Log) is { } limits)
            {
                labels[RuntimeLabels.LogMaxBytes] = limits.MaxBytes.ToString(CultureInfo.InvariantCulture);
                labels[RuntimeLabels.LogMaxFiles] = limits.MaxFiles.ToString(CultureInfo.InvariantCulture);
            }

            var container = new ContainerRecord
            {
                Id = id,
                Image = image.Name,
                Runtime = new ContainerRecord.Types.Runtime { Name = RuncRuntime },
                Spec = new Any { TypeUrl = SpecTypeUrl, Value = ByteString.CopyFromUtf8(json) },
                Snapshotter = _options.Snapshotter,
                SnapshotKey = id,
            };
            container.Labels.Add(labels);
            try
            {
                await _clients.Containers.CreateAsync(new global::Containerd.Services.Containers.V1.CreateContainerRequest { Container = container }, leased, cancellationToken: cancellation);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
            {
                throw Conflict(id);
            }

            return id;
        }
        catch (Exception e)
        {
            await UndoCreateAsync(id, snapshotMade, networkMade, sandbox);
            throw e switch
            {
                ContainerOperationException { Message: var m } when m.StartsWith("CannotCreateContainerError:", StringComparison.Ordinal) => e,
                RpcException rpc when ContainerdClients.IsUnreachable(rpc) => Unreachable(rpc),
                RpcException rpc => new ContainerOperationException($"CannotCreateContainerError: {Describe(rpc)}", e),
                OperationCanceledException => e,
                _ => new ContainerOperationException($"CannotCreateContainerError: {WithoutPrefix(e.Message)}", e),
            };
        }
        finally
        {
            await DeleteLeaseAsync(lease);
        }
    }

    private async Task<string> CreateLeaseAsync(string id, CancellationToken cancellation)
    {
        var request = new global::Containerd.Services.Leases.V1.CreateRequest { Id = $"{CreateLeasePrefix}{id}-{Guid.NewGuid():N}" };

        // An agent that dies mid-create leaves it behind: containerd drops it after this.
        request.Labels["containerd.io/gc.expire"] = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        try
        {
            var created = await _clients.Leases.CreateAsync(request, cancellationToken: cancellation);
            return created.Lease.Id;
        }
        catch (RpcException e) when (ContainerdClients.IsUnreachable(e))
        {
            throw Unreachable(e);
        }
        catch (RpcException e)
        {
            throw new ContainerOperationException($"CannotCreateContainerError: {Describe(e)}", e);
        }
    }

    /// <summary>The leases of creates: any left at agent start belong to a create that died with an earlier agent.</summary>
    private const string CreateLeasePrefix = "orchestrator-create-";

    private async Task DeleteLeaseAsync(string lease)
    {
        try
        {
            await _clients.Leases.DeleteAsync(new global::Containerd.Services.Leases.V1.DeleteRequest { Id = lease });
        }
        catch (RpcException)
        {
            // Expires on its own.
        }
    }

    public async Task StartAsync(string id, CancellationToken cancellation)
    {
        var container = await GetContainerAsync(id, cancellation)
            ?? throw new ContainerOperationException($"CannotStartContainerError: No such container: {id}");
        var task = await GetProcessAsync(id, "", cancellation);
        if (task is { Status: global::Containerd.V1.Types.Status.Running or global::Containerd.V1.Types.Status.Paused or global::Containerd.V1.Types.Status.Pausing })
        {
            // Docker answers "already started" and changes nothing.
            return;
        }

        if (task is not null)
        {
            // The task of an earlier run (Docker's restart of the same container): made again, as Docker does.
            await RecordOomAsync(id, container.Labels, cancellation);
            await DeleteTaskAsync(id, cancellation);
        }

        var limits = LogLimitsOf(container.Labels);
        var logPath = ContainerLogFile.PathOf(LogsDirectory, id);
        try
        {
            var mounts = await _clients.Snapshots.MountsAsync(new global::Containerd.Services.Snapshots.V1.MountsRequest { Snapshotter = container.Snapshotter, Key = container.SnapshotKey }, cancellationToken: cancellation);
            var create = new global::Containerd.Services.Tasks.V1.CreateTaskRequest { ContainerId = id };
            create.Rootfs.Add(mounts.Mounts);
            if (limits is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
                create.Stdout = create.Stderr = "file://" + logPath;
            }

            await _clients.Tasks.CreateAsync(create, cancellationToken: cancellation);
        }
        catch (RpcException e) when (ContainerdClients.IsUnreachable(e))
        {
            throw Unreachable(e);
        }
        catch (RpcException e)
        {
            await DeleteTaskQuietlyAsync(id);
            throw new ContainerOperationException($"CannotStartContainerError: {Describe(e)}", e);
        }

        // A new run: the OOM kill of the last one is history, and Inspect's StartedAt is now.
        await SetLabelsAsync(id, new Dictionary<string, string?>
        {
            [RuntimeLabels.StartedAt] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            [RuntimeLabels.OomKilled] = null,
        }, cancellation);

        try
        {
            await _clients.Tasks.StartAsync(new global::Containerd.Services.Tasks.V1.StartRequest { ContainerId = id }, cancellationToken: cancellation);
        }
        catch (RpcException e) when (ContainerdClients.IsUnreachable(e))
        {
            throw Unreachable(e);
        }
        catch (RpcException e)
        {
            await DeleteTaskQuietlyAsync(id);
            throw new ContainerOperationException($"CannotStartContainerError: {Describe(e)}", e);
        }

        if (limits is { } watched)
        {
            _logs.Watch(id, logPath, watched.MaxBytes, watched.MaxFiles);
        }
    }

    public async Task StopAsync(string id, TimeSpan timeout, CancellationToken cancellation)
    {
        var container = await GetContainerAsync(id, cancellation);
        var task = await GetProcessAsync(id, "", cancellation);
        if (container is null || task is null || task.Status is global::Containerd.V1.Types.Status.Stopped or global::Containerd.V1.Types.Status.Created)
        {
            return;
        }

        var signal = RuntimeLabels.ParseSignal(container.Labels.TryGetValue(RuntimeLabels.StopSignal, out var stop) ? stop : "") ?? 15;
        if (await KillAsync(id, "", signal, all: false, cancellation) && timeout > TimeSpan.Zero && await WaitAsync(id, "", timeout, cancellation))
        {
            return;
        }

        await KillAsync(id, "", 9, all: true, cancellation);
        await WaitAsync(id, "", KillWait, cancellation);
    }

    public async Task RemoveAsync(string id, CancellationToken cancellation)
    {
        var container = await GetContainerAsync(id, cancellation);
        if (await GetProcessAsync(id, "", cancellation) is not null)
        {
            await KillAsync(id, "", 9, all: true, cancellation);
            await WaitAsync(id, "", KillWait, cancellation);
            await DeleteTaskAsync(id, cancellation);
        }

        // Without the container (a removal cut short earlier) the mode is unknown: tearing down what is not there is fine.
        if (container is null || !container.Labels.TryGetValue(RuntimeLabels.NetworkMode, out var mode) || mode != "host")
        {
            await _network.TearDownAsync(id, cancellation);
        }

        await CallAsync(async () =>
        {
            try
            {
                await _clients.Containers.DeleteAsync(new global::Containerd.Services.Containers.V1.DeleteContainerRequest { Id = id }, cancellationToken: cancellation);
            }
            catch (RpcException e) when (IsNotFound(e))
            {
                // Already gone.
            }

            try
            {
                await _clients.Snapshots.RemoveAsync(new global::Containerd.Services.Snapshots.V1.RemoveSnapshotRequest { Snapshotter = container?.Snapshotter is { Length: > 0 } s ? s : _options.Snapshotter, Key = id }, cancellationToken: cancellation);
            }
            catch (RpcException e) when (IsNotFound(e))
            {
                // Never made, or removed already.
            }
        });

        _logs.Forget(id);
        DeleteDirectory(Path.Combine(LogsDirectory, id));
        DeleteDirectory(Path.Combine(SandboxDirectory, id));
        _labels.TryRemove(id, out _);
    }

    /// <summary>Undoes a failed create, best effort: what cannot be undone now a removal does later.</summary>
    private async Task UndoCreateAsync(string id, bool snapshotMade, bool networkMade, string sandbox)
    {
        DeleteDirectory(sandbox);
        if (networkMade)
        {
            try
            {
                await _network.TearDownAsync(id, CancellationToken.None);
            }
            catch (Exception e) when (e is ContainerOperationException or IOException or RpcException)
            {
                // Left for RemoveLeftoversAsync.
            }
        }

        if (snapshotMade)
        {
            try
            {
                await _clients.Snapshots.RemoveAsync(new global::Containerd.Services.Snapshots.V1.RemoveSnapshotRequest { Snapshotter = _options.Snapshotter, Key = id });
            }
            catch (RpcException)
            {
                // Left for a removal of the same name.
            }
        }
    }

    /// <summary>Sends a signal to a process of the container's task; false when it has none running.</summary>
    private async Task<bool> KillAsync(string id, string execId, uint signal, bool all, CancellationToken cancellation) =>
        await CallAsync(async () =>
        {
            try
            {
                await _clients.Tasks.KillAsync(new global::Containerd.Services.Tasks.V1.KillRequest { ContainerId = id, ExecId = execId, Signal = signal, All = all }, cancellationToken: cancellation);
                return true;
            }
            catch (RpcException e) when (IsNotFound(e) || e.StatusCode == StatusCode.FailedPrecondition)
            {
                // No task, or it has exited already.
                return false;
            }
        });

    /// <summary>Waits for a process to exit; false when it still runs after <paramref name="timeout"/>.</summary>
    private async Task<bool> WaitAsync(string id, string execId, TimeSpan timeout, CancellationToken cancellation) =>
        await CallAsync(async () =>
        {
            // A timer of our own rather than a gRPC deadline: containerd hands the deadline on to the shim,
            // whose expiry comes back as Unknown "context deadline exceeded", not DeadlineExceeded.
            using var waited = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            waited.CancelAfter(timeout);
            try
            {
                await _clients.Tasks.WaitAsync(new global::Containerd.Services.Tasks.V1.WaitRequest { ContainerId = id, ExecId = execId }, cancellationToken: waited.Token);
                return true;
            }
            catch (RpcException e) when (waited.IsCancellationRequested && !cancellation.IsCancellationRequested && e.StatusCode is StatusCode.Cancelled or StatusCode.DeadlineExceeded or StatusCode.Unknown)
            {
                return false;
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                return false;
            }
            catch (RpcException e) when (IsNotFound(e))
            {
                return true;
            }
        });

    private async Task DeleteTaskAsync(string id, CancellationToken cancellation) =>
        await CallAsync(async () =>
        {
            try
            {
                await _clients.Tasks.DeleteAsync(new global::Containerd.Services.Tasks.V1.DeleteTaskRequest { ContainerId = id }, cancellationToken: cancellation);
            }
            catch (RpcException e) when (IsNotFound(e))
            {
                // Already gone.
            }
        });

    private async Task DeleteTaskQuietlyAsync(string id)
    {
        try
        {
            await _clients.Tasks.DeleteAsync(new global::Containerd.Services.Tasks.V1.DeleteTaskRequest { ContainerId = id });
        }
        catch (RpcException)
        {
            // There was none, or containerd went away: a later start or removal deletes it.
        }
    }

    /// <summary>Sets (or, for null, removes) labels of a container; a container gone meanwhile is fine.</summary>
    private async Task SetLabelsAsync(string id, IReadOnlyDictionary<string, string?> labels, CancellationToken cancellation)
    {
        var container = new ContainerRecord { Id = id };
        var mask = new FieldMask();
        foreach (var (key, value) in labels)
        {
            mask.Paths.Add("labels." + key);
            if (value is not null)
            {
                container.Labels[key] = value;
            }
        }

        await CallAsync(async () =>
        {
            try
            {
                var updated = await _clients.Containers.UpdateAsync(new global::Containerd.Services.Containers.V1.UpdateContainerRequest { Container = container, UpdateMask = mask }, cancellationToken: cancellation);
                _labels[id] = new Dictionary<string, string>(updated.Container.Labels);
            }
            catch (RpcException e) when (IsNotFound(e))
            {
                // Removed meanwhile.
            }
        });
    }

    private async Task<ContainerRecord?> GetContainerAsync(string id, CancellationToken cancellation) =>
        await CallAsync(async () =>
        {
            try
            {
                var answer = await _clients.Containers.GetAsync(new global::Containerd.Services.Containers.V1.GetContainerRequest { Id = id }, cancellationToken: cancellation);
                return answer.Container;
            }
            catch (RpcException e) when (IsNotFound(e))
            {
                return null;
            }
        });

    /// <summary>A process of a container's task (<paramref name="execId"/> empty: its init); null when there is none.</summary>
    private async Task<global::Containerd.V1.Types.Process?> GetProcessAsync(string id, string execId, CancellationToken cancellation) =>
        await CallAsync(async () =>
        {
            try
            {
                var answer = await _clients.Tasks.GetAsync(new global::Containerd.Services.Tasks.V1.GetRequest { ContainerId = id, ExecId = execId }, cancellationToken: cancellation);
                return answer.Process;
            }
            catch (RpcException e) when (IsNotFound(e))
            {
                return null;
            }
        });

    private static (long MaxBytes, int MaxFiles)? LogLimitsOf(IDictionary<string, string> labels) =>
        labels.TryGetValue(RuntimeLabels.LogMaxBytes, out var bytes) && long.TryParse(bytes, CultureInfo.InvariantCulture, out var maxBytes)
        && labels.TryGetValue(RuntimeLabels.LogMaxFiles, out var files) && int.TryParse(files, CultureInfo.InvariantCulture, out var maxFiles)
            ? (maxBytes, maxFiles)
            : null;

    /// <summary>The root file system's directories on the host, top layer first: overlay's upperdir then its lowerdirs; a bind mount's source.</summary>
    internal static IReadOnlyList<string> RootfsDirectories(IEnumerable<Mount> mounts)
    {
        var directories = new List<string>();
        foreach (var mount in mounts)
        {
            if (mount.Type == "bind")
            {
                directories.Add(mount.Source);
                continue;
            }

            var upper = mount.Options.FirstOrDefault(o => o.StartsWith("upperdir=", StringComparison.Ordinal));
            if (upper is not null)
            {
                directories.Add(upper["upperdir=".Length..]);
            }

            var lower = mount.Options.FirstOrDefault(o => o.StartsWith("lowerdir=", StringComparison.Ordinal));
            if (lower is not null)
            {
                directories.AddRange(lower["lowerdir=".Length..].Split(':', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        return directories;
    }

    /// <summary>The init bind-mounted as PID 1: the configured one, else the first static one on the host; null: none.</summary>
    private string? InitPath()
    {
        if (_options.InitPath.Length > 0)
        {
            return _options.InitPath;
        }

        // Static ones first: the image may have no libc for a dynamic tini.
        string[] candidates = ["/usr/bin/docker-init", "/usr/local/bin/docker-init", "/usr/bin/tini-static", "/usr/local/bin/tini-static", "/sbin/tini", "/usr/bin/tini", "/usr/local/bin/tini"];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>Docker's answer to a second container of one name.</summary>
    private static ContainerOperationException Conflict(string id) =>
        new($"CannotCreateContainerError: Conflict. The container name \"/{id}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.");

    private static string WithoutPrefix(string message)
    {
        foreach (var prefix in (string[])["CannotPullContainerError: ", "CannotCreateContainerError: "])
        {
            if (message.StartsWith(prefix, StringComparison.Ordinal))
            {
                return message[prefix.Length..];
            }
        }

        return message;
    }

    private static void DeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // Busy: left for the next removal of the same name.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
