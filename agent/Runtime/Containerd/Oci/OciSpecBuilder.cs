using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>
/// One container's OCI runtime spec (config.json) as JSON, from the task's spec and its image's config.
/// A pure function. The defaults are Docker's (which are containerd's oci.populateDefaultUnixSpec plus
/// the cgroup mount and Docker's process settings), so a task behaves alike on either runtime.
/// </summary>
internal static class OciSpecBuilder
{
    /// <summary>Where the init binary appears in the container: Docker's path, so process listings look alike.</summary>
    public const string InitDestination = "/sbin/docker-init";

    private const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Docker's (and containerd's) default shm size: 64 MiB.</summary>
    private const long DefaultShmBytes = 64L * 1024 * 1024;

    /// <summary>The spec's JSON, root.path "rootfs" (containerd mounts the snapshot there).</summary>
    /// <exception cref="ContainerOperationException">A field only Docker supports, no command, a bad capability or ulimit.</exception>
    public static string Build(OciSpecInput input)
    {
        var spec = input.Spec;
        var options = spec.Options;
        RefuseDockerOnly(options);

        var args = Arguments(spec, input.Image);
        if (input.InitPath is not null)
        {
            args = [InitDestination, "--", .. args];
        }

        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("ociVersion", "1.0.2");

            json.WriteStartObject("process");
            json.WriteBoolean("terminal", false);
            json.WriteStartObject("user");
            json.WriteNumber("uid", input.User.Uid);
            json.WriteNumber("gid", input.User.Gid);
            if (input.User.AdditionalGids.Count > 0)
            {
                WriteArray(json, "additionalGids", input.User.AdditionalGids);
            }

            json.WriteEndObject();
            WriteArray(json, "args", args);
            WriteArray(json, "env", Environment(spec, input.Image, SandboxFiles.HostnameOf(spec)));
            json.WriteString("cwd", WorkingDirectory(options, input.Image));
            var capabilities = OciCapabilities.Of(options.CapabilitiesAdded, options.CapabilitiesDropped);
            json.WriteStartObject("capabilities");
            WriteArray(json, "bounding", capabilities);
            WriteArray(json, "effective", capabilities);
            WriteArray(json, "permitted", capabilities);
            json.WriteEndObject();
            json.WriteStartArray("rlimits");
            foreach (var (type, soft, hard) in Rlimits(options.Ulimits))
            {
                json.WriteStartObject();
                json.WriteString("type", type);
                json.WriteNumber("hard", hard);
                json.WriteNumber("soft", soft);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteBoolean("noNewPrivileges", false);

            // As Docker: a container's processes are the kernel's first choice under memory pressure like
            // any process, not protected as containerd's shim is (-998 would be inherited otherwise).
            json.WriteNumber("oomScoreAdj", 0);
            json.WriteEndObject();

            json.WriteStartObject("root");
            json.WriteString("path", "rootfs");
            json.WriteBoolean("readonly", options.ReadonlyRootFilesystem);
            json.WriteEndObject();

            json.WriteString("hostname", SandboxFiles.HostnameOf(spec));

            json.WriteStartArray("mounts");
            foreach (var mount in Mounts(input))
            {
                json.WriteStartObject();
                json.WriteString("destination", mount.Destination);
                json.WriteString("type", mount.Type);
                json.WriteString("source", mount.Source);
                WriteArray(json, "options", mount.Options);
                json.WriteEndObject();
            }

            json.WriteEndArray();

            WriteLinux(json, input);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>
    /// The fields no containerd runtime can honour. The scheduler keeps tasks that use them off containerd
    /// nodes; this is the second line, so a task never runs silently without what it asked for.
    /// </summary>
    private static void RefuseDockerOnly(ContainerOptions options)
    {
        var field =
            options.VolumesFrom.Count > 0 ? "volumesFrom"
            : options.Links.Count > 0 ? "links"
            : options.Privileged ? "privileged"
            : options.Tty ? "pseudoTerminal"
            : options.OpenStdin ? "interactive"
            : options.NetworkAliases.Count > 0 ? "network aliases"
            : options.Log is { } log && !Orchestrator.Contracts.V1.RuntimeSupport.IsPortableLogDriver(log.Driver) ? $"log driver {log.Driver}"
            : null;
        if (field is not null)
        {
            throw new ContainerOperationException($"CannotCreateContainerError: {field} is not supported by the containerd runtime");
        }
    }

    /// <summary>
    /// Docker's merge: the task's entry point replaces the image's and then drops the image's command too
    /// (it was written for the image's entry point); the task's command replaces the image's command.
    /// </summary>
    internal static IReadOnlyList<string> Arguments(ContainerSpec spec, ImageConfig image)
    {
        var entryPoint = spec.EntryPoint.Count > 0 ? spec.EntryPoint : image.EntryPoint;
        var command = spec.Command.Count > 0 ? spec.Command
            : spec.EntryPoint.Count > 0 ? []
            : image.Command;
        IReadOnlyList<string> args = [.. entryPoint, .. command];
        return args.Count > 0 ? args : throw new ContainerOperationException("CannotCreateContainerError: no command specified");
    }

    /// <summary>
    /// Docker's order: PATH (unless the image or task sets one) and HOSTNAME first, then the image's
    /// variables, each replaced in place by the task's and then the secrets' of the same name. A task's
    /// name without "=" removes the variable, as Docker's ReplaceOrAppendEnvValues.
    /// </summary>
    internal static IReadOnlyList<string> Environment(ContainerSpec spec, ImageConfig image, string hostname)
    {
        var variables = new List<string?> { DefaultPath, "HOSTNAME=" + hostname };
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal) { ["PATH"] = 0, ["HOSTNAME"] = 1 };
        void Set(string name, string? entry)
        {
            if (indexes.TryGetValue(name, out var index))
            {
                variables[index] = entry;
            }
            else if (entry is not null)
            {
                indexes[name] = variables.Count;
                variables.Add(entry);
            }
        }

        foreach (var entry in image.Environment.Concat(spec.Environment))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            Set(equals < 0 ? entry : entry[..equals], equals < 0 ? null : entry);
        }

        foreach (var secret in spec.Options.SecretEnvironment)
        {
            Set(secret.Name, $"{secret.Name}={secret.Value}");
        }

        return [.. variables.OfType<string>()];
    }

    private static string WorkingDirectory(ContainerOptions options, ImageConfig image) =>
        options.WorkingDirectory.Length > 0 ? options.WorkingDirectory
        : image.WorkingDirectory.Length > 0 ? image.WorkingDirectory
        : "/";

    /// <summary>
    /// containerd's default RLIMIT_NOFILE 1024:1024, replaced or joined by the task's ulimits (Docker's
    /// names). Not Docker's 1024:524288: runc cannot raise a hard limit above the shim's (containerd's),
    /// which the agent does not know (524288 was refused on a host whose limit is lower); a task that
    /// needs more says so with ulimits nofile.
    /// </summary>
    internal static IReadOnlyList<(string Type, ulong Soft, ulong Hard)> Rlimits(IReadOnlyList<UlimitSpec> ulimits)
    {
        var limits = new List<(string Type, ulong Soft, ulong Hard)> { ("RLIMIT_NOFILE", 1024, 1024) };
        foreach (var ulimit in ulimits)
        {
            var type = ulimit.Name.ToLowerInvariant() switch
            {
                "as" or "core" or "cpu" or "data" or "fsize" or "locks" or "memlock" or "msgqueue" or "nice"
                    or "nofile" or "nproc" or "rss" or "rtprio" or "rttime" or "sigpending" or "stack" => "RLIMIT_" + ulimit.Name.ToUpperInvariant(),
                _ => throw new ContainerOperationException($"CannotCreateContainerError: invalid ulimit type: {ulimit.Name}"),
            };
            if (ulimit.Soft > ulimit.Hard && ulimit.Hard >= 0)
            {
                throw new ContainerOperationException($"CannotCreateContainerError: ulimit soft limit must be less than or equal to hard limit: {ulimit.Soft} > {ulimit.Hard}");
            }

            // -1 is Docker's "unlimited" (RLIM_INFINITY).
            var limit = (type, Unlimited(ulimit.Soft), Unlimited(ulimit.Hard));
            var existing = limits.FindIndex(l => l.Type == type);
            if (existing >= 0)
            {
                limits[existing] = limit;
            }
            else
            {
                limits.Add(limit);
            }
        }

        return limits;
    }

    private static ulong Unlimited(long value) => value < 0 ? ulong.MaxValue : (ulong)value;

    internal sealed record OciMount(string Destination, string Type, string Source, IReadOnlyList<string> Options);

    /// <summary>
    /// Docker's default mounts, then /etc/hosts, /etc/resolv.conf and /etc/hostname, then the task's binds,
    /// volumes and tmpfs (a task's mount on a default's destination replaces that default), parents before
    /// children, then the init binary.
    /// </summary>
    internal static IReadOnlyList<OciMount> Mounts(OciSpecInput input)
    {
        var options = input.Spec.Options;
        var shm = options.SharedMemoryBytes > 0 ? options.SharedMemoryBytes : DefaultShmBytes;
        var defaults = new List<OciMount>
        {
            new("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
            new("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            new("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            new("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
            new("/sys/fs/cgroup", "cgroup", "cgroup", ["ro", "nosuid", "noexec", "nodev"]),
            new("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
            new("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=" + shm.ToString(CultureInfo.InvariantCulture)]),
        };

        // Writable unless the root is read-only, as Docker's (an app may rewrite its resolv.conf).
        var sandboxMode = options.ReadonlyRootFilesystem ? "ro" : "rw";
        var sandbox = new List<OciMount>
        {
            new("/etc/resolv.conf", "bind", input.ResolvConfFile, ["rbind", "rprivate", sandboxMode]),
            new("/etc/hostname", "bind", input.HostnameFile, ["rbind", "rprivate", sandboxMode]),
            new("/etc/hosts", "bind", input.HostsFile, ["rbind", "rprivate", sandboxMode]),
        };

        var task = new List<OciMount>();
        foreach (var mount in options.Mounts)
        {
            var source = mount.Kind == MountKind.Bind ? mount.Source : input.VolumePath(mount.Source);
            task.Add(new(mount.Target, "bind", source, ["rbind", "rprivate", mount.ReadOnly ? "ro" : "rw"]));
        }

        foreach (var tmpfs in options.Tmpfs)
        {
            task.Add(new(tmpfs.ContainerPath, "tmpfs", "tmpfs", TmpfsOptions(tmpfs)));
        }

        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mount in task)
        {
            var destination = Normal(mount.Destination);
            if (!destination.StartsWith('/'))
            {
                throw new ContainerOperationException($"CannotCreateContainerError: invalid mount path: '{mount.Destination}' mount path must be absolute");
            }

            if (destination == "/")
            {
                throw new ContainerOperationException("CannotCreateContainerError: invalid specification: destination can't be '/'");
            }

            if (!taken.Add(destination))
            {
                throw new ContainerOperationException($"CannotCreateContainerError: Duplicate mount point: {destination}");
            }
        }

        var mounts = defaults.Concat(sandbox).Where(m => !taken.Contains(m.Destination)).ToList();

        // Docker sorts by depth so that /data is mounted before /data/logs; OrderBy is stable.
        mounts.AddRange(task.OrderBy(m => Normal(m.Destination).Count(c => c == '/')));
        if (input.InitPath is not null)
        {
            mounts.Add(new(InitDestination, "bind", input.InitPath, ["bind", "ro"]));
        }

        return mounts;
    }

    private static string Normal(string path) => path.Length > 1 ? path.TrimEnd('/') : path;

    /// <summary>Docker's tmpfs defaults (noexec, nosuid, nodev, no size: the memory limit bounds it) merged with the task's, the task's winning.</summary>
    internal static IReadOnlyList<string> TmpfsOptions(TmpfsSpec tmpfs)
    {
        var given = new List<string>();
        if (tmpfs.SizeBytes > 0)
        {
            given.Add("size=" + tmpfs.SizeBytes.ToString(CultureInfo.InvariantCulture));
        }

        given.AddRange(tmpfs.Options);
        var opposite = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["exec"] = "noexec", ["noexec"] = "exec",
            ["suid"] = "nosuid", ["nosuid"] = "suid",
            ["dev"] = "nodev", ["nodev"] = "dev",
            ["ro"] = "rw", ["rw"] = "ro",
            ["atime"] = "noatime", ["noatime"] = "atime",
        };
        var merged = new List<string>();
        foreach (var option in (IEnumerable<string>)["noexec", "nosuid", "nodev", "rprivate", .. given])
        {
            var equals = option.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                var key = option[..(equals + 1)];
                merged.RemoveAll(o => o.StartsWith(key, StringComparison.Ordinal));
            }
            else
            {
                merged.Remove(option);
                if (opposite.TryGetValue(option, out var other))
                {
                    merged.Remove(other);
                }
            }

            merged.Add(option);
        }

        return merged;
    }

    private static void WriteLinux(Utf8JsonWriter json, OciSpecInput input)
    {
        var spec = input.Spec;
        json.WriteStartObject("linux");

        json.WriteStartObject("resources");
        json.WriteStartArray("devices");
        WriteDevice(json, false, null, null, null);
        foreach (var (major, minor) in AllowedCharacterDevices)
        {
            WriteDevice(json, true, "c", major, minor);
        }

        json.WriteEndArray();
        if (spec.MemoryBytes > 0 || spec.MemoryReservationBytes > 0)
        {
            json.WriteStartObject("memory");
            if (spec.MemoryBytes > 0)
            {
                json.WriteNumber("limit", spec.MemoryBytes);

                // No swap beyond the hard limit: a task over its memory is OOM-killed, as on ECS (and as DockerRuntime).
                json.WriteNumber("swap", spec.MemoryBytes);
            }

            if (spec.MemoryReservationBytes > 0)
            {
                json.WriteNumber("reservation", spec.MemoryReservationBytes);
            }

            json.WriteEndObject();
        }

        if (spec.CpuShares > 0)
        {
            json.WriteStartObject("cpu");
            json.WriteNumber("shares", spec.CpuShares);
            json.WriteEndObject();
        }

        json.WriteEndObject();

        json.WriteString("cgroupsPath", input.CgroupsPath);

        json.WriteStartArray("namespaces");
        foreach (var kind in (string[])["pid", "ipc", "uts", "mount"])
        {
            json.WriteStartObject();
            json.WriteString("type", kind);
            json.WriteEndObject();
        }

        // No network namespace at all: the host's network.
        if (input.NetworkNamespacePath is { } path)
        {
            json.WriteStartObject();
            json.WriteString("type", "network");
            json.WriteString("path", path);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        // Docker's (20.10+) in a network namespace of the container's own: a non-root process may listen
        // on ports below 1024 and ping; both are per namespace, so the host is unaffected.
        if (input.NetworkNamespacePath is not null)
        {
            json.WriteStartObject("sysctl");
            json.WriteString("net.ipv4.ip_unprivileged_port_start", "0");
            json.WriteString("net.ipv4.ping_group_range", "0 2147483647");
            json.WriteEndObject();
        }

        WriteArray(json, "maskedPaths", MaskedPaths);
        WriteArray(json, "readonlyPaths", ReadonlyPaths);
        json.WriteEndObject();
    }

    /// <summary>containerd's WithDefaultUnixDevices: null, random, full, tty, zero, urandom, console, the pts (any minor), ptmx.</summary>
    private static readonly (int Major, int? Minor)[] AllowedCharacterDevices =
        [(1, 3), (1, 8), (1, 7), (5, 0), (1, 5), (1, 9), (5, 1), (136, null), (5, 2)];

    /// <summary>containerd's defaults plus Docker's powercap (energy readings leak across containers).</summary>
    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap",
    ];

    private static readonly string[] ReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private static void WriteDevice(Utf8JsonWriter json, bool allow, string? type, int? major, int? minor)
    {
        json.WriteStartObject();
        json.WriteBoolean("allow", allow);
        if (type is not null)
        {
            json.WriteString("type", type);
        }

        if (major is { } majorNumber)
        {
            json.WriteNumber("major", majorNumber);
        }

        if (minor is { } minorNumber)
        {
            json.WriteNumber("minor", minorNumber);
        }

        json.WriteString("access", "rwm");
        json.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteArray(Utf8JsonWriter json, string name, IEnumerable<uint> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteNumberValue(value);
        }

        json.WriteEndArray();
    }
}
