using System.Text.Json;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Oci;

namespace Orchestrator.Agent.Tests.Containerd;

internal sealed class OciSpecBuilderTests
{
    private static readonly ImageConfig Busybox = new("docker.io/library/busybox:latest", "sha256:chain", ["PATH=/bin", "LANG=C"], [], ["sh"], "", "", "");

    /// <summary>The hostname of <see cref="Spec"/>'s container: 12 hex digits of its own.</summary>
    private static string Hostname => SandboxFiles.HostnameOf(Spec(new ContainerOptions()));

    internal static ContainerSpec Spec(ContainerOptions? options = null, IReadOnlyList<string>? command = null, IReadOnlyList<string>? entryPoint = null, IReadOnlyList<string>? environment = null) =>
        new("task-0123456789abcdef", "busybox", command ?? [], entryPoint ?? [], environment ?? [], 0, 0, 0, [], null, 10, new Dictionary<string, string> { ["orchestrator.task"] = "t1" })
        {
            Options = options ?? new ContainerOptions { Init = false },
        };

    internal static OciSpecInput Input(ContainerSpec spec, ImageConfig? image = null, string? netns = "/var/run/netns/task", string? init = null, OciUser? user = null) =>
        new(spec, image ?? Busybox, netns, "/state/task/hosts", "/state/task/resolv.conf", "/state/task/hostname", "/orchestrator/" + spec.Name, init, name => "/volumes/" + name + "/_data", user ?? OciUser.Root);

    private static JsonElement Build(OciSpecInput input) => JsonDocument.Parse(OciSpecBuilder.Build(input)).RootElement;

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static JsonElement MountAt(JsonElement root, string destination) =>
        root.GetProperty("mounts").EnumerateArray().Single(m => m.GetProperty("destination").GetString() == destination);

    [Test]
    public void The_defaults_are_dockers()
    {
        var root = Build(Input(Spec()));

        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("ociVersion").GetString(), Is.EqualTo("1.0.2"));
            var process = root.GetProperty("process");
            Assert.That(Strings(process.GetProperty("args")), Is.EqualTo(new[] { "sh" }));
            Assert.That(process.GetProperty("cwd").GetString(), Is.EqualTo("/"));
            Assert.That(process.GetProperty("terminal").GetBoolean(), Is.False);
            Assert.That(process.GetProperty("noNewPrivileges").GetBoolean(), Is.False);
            Assert.That(process.GetProperty("user").GetProperty("uid").GetUInt32(), Is.Zero);
            Assert.That(process.GetProperty("user").GetProperty("gid").GetUInt32(), Is.Zero);
            Assert.That(process.GetProperty("user").TryGetProperty("additionalGids", out _), Is.False);
            var capabilities = process.GetProperty("capabilities");
            Assert.That(Strings(capabilities.GetProperty("bounding")), Is.EqualTo(OciCapabilities.Default));
            Assert.That(Strings(capabilities.GetProperty("effective")), Is.EqualTo(OciCapabilities.Default));
            Assert.That(Strings(capabilities.GetProperty("permitted")), Is.EqualTo(OciCapabilities.Default));
            Assert.That(capabilities.TryGetProperty("inheritable", out _), Is.False);
            Assert.That(capabilities.TryGetProperty("ambient", out _), Is.False);
            var rlimit = process.GetProperty("rlimits").EnumerateArray().Single();
            Assert.That(rlimit.GetProperty("type").GetString(), Is.EqualTo("RLIMIT_NOFILE"));
            Assert.That(rlimit.GetProperty("soft").GetUInt64(), Is.EqualTo(1024));
            Assert.That(rlimit.GetProperty("hard").GetUInt64(), Is.EqualTo(1024));

            Assert.That(root.GetProperty("root").GetProperty("path").GetString(), Is.EqualTo("rootfs"));
            Assert.That(root.GetProperty("root").GetProperty("readonly").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("hostname").GetString(), Is.EqualTo(Hostname));

            var linux = root.GetProperty("linux");
            Assert.That(linux.GetProperty("cgroupsPath").GetString(), Is.EqualTo("/orchestrator/task-0123456789abcdef"));
            Assert.That(linux.GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()), Is.EqualTo(new[] { "pid", "ipc", "uts", "mount", "network" }));
            Assert.That(linux.GetProperty("namespaces")[4].GetProperty("path").GetString(), Is.EqualTo("/var/run/netns/task"));
            Assert.That(Strings(linux.GetProperty("maskedPaths")), Does.Contain("/proc/kcore").And.Contain("/sys/firmware").And.Contain("/proc/keys"));
            Assert.That(Strings(linux.GetProperty("readonlyPaths")), Is.EqualTo(new[] { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" }));
            var resources = linux.GetProperty("resources");
            Assert.That(resources.TryGetProperty("memory", out _), Is.False);
            Assert.That(resources.TryGetProperty("cpu", out _), Is.False);
            var devices = resources.GetProperty("devices").EnumerateArray().ToList();
            Assert.That(devices[0].GetProperty("allow").GetBoolean(), Is.False);
            Assert.That(devices[0].GetProperty("access").GetString(), Is.EqualTo("rwm"));
            Assert.That(devices[0].TryGetProperty("type", out _), Is.False);
            Assert.That(devices.Skip(1).All(d => d.GetProperty("allow").GetBoolean() && d.GetProperty("type").GetString() == "c"), Is.True);
            Assert.That(devices.Skip(1).Select(d => $"{d.GetProperty("major")}:{(d.TryGetProperty("minor", out var minor) ? minor.ToString() : "*")}"),
                Is.EquivalentTo(new[] { "1:3", "1:5", "1:7", "1:8", "1:9", "5:0", "5:1", "5:2", "136:*" }));
        });
    }

    [Test]
    public void The_default_mounts_come_first_then_the_sandbox_files()
    {
        var root = Build(Input(Spec()));

        var mounts = root.GetProperty("mounts").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(mounts.Select(m => m.GetProperty("destination").GetString()), Is.EqualTo(new[]
            {
                "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts",
            }));
            Assert.That(Strings(MountAt(root, "/sys/fs/cgroup").GetProperty("options")), Does.Contain("ro"));
            Assert.That(Strings(MountAt(root, "/sys").GetProperty("options")), Does.Contain("ro"));
            Assert.That(Strings(MountAt(root, "/dev/shm").GetProperty("options")), Does.Contain("size=67108864"));
            var hosts = MountAt(root, "/etc/hosts");
            Assert.That(hosts.GetProperty("type").GetString(), Is.EqualTo("bind"));
            Assert.That(hosts.GetProperty("source").GetString(), Is.EqualTo("/state/task/hosts"));
            Assert.That(Strings(hosts.GetProperty("options")), Is.EqualTo(new[] { "rbind", "rprivate", "rw" }));
            Assert.That(MountAt(root, "/etc/resolv.conf").GetProperty("source").GetString(), Is.EqualTo("/state/task/resolv.conf"));
            Assert.That(MountAt(root, "/etc/hostname").GetProperty("source").GetString(), Is.EqualTo("/state/task/hostname"));
        });
    }

    // Docker's merge of the task's entry point and command with the image's.
    [TestCase(new[] { "/entry" }, new[] { "image-cmd" }, new string[0], new string[0], new[] { "/entry", "image-cmd" })]
    [TestCase(new[] { "/entry" }, new[] { "image-cmd" }, new string[0], new[] { "task-cmd" }, new[] { "/entry", "task-cmd" })]
    [TestCase(new[] { "/entry" }, new[] { "image-cmd" }, new[] { "/task-entry" }, new string[0], new[] { "/task-entry" })]
    [TestCase(new[] { "/entry" }, new[] { "image-cmd" }, new[] { "/task-entry" }, new[] { "task-cmd" }, new[] { "/task-entry", "task-cmd" })]
    [TestCase(new string[0], new[] { "sh", "-c", "x" }, new string[0], new string[0], new[] { "sh", "-c", "x" })]
    [TestCase(new string[0], new[] { "sh" }, new string[0], new[] { "sleep", "5" }, new[] { "sleep", "5" })]
    [TestCase(new string[0], new string[0], new[] { "/bin/sleep" }, new[] { "5" }, new[] { "/bin/sleep", "5" })]
    public void The_process_args_merge_as_dockers(string[] imageEntry, string[] imageCommand, string[] taskEntry, string[] taskCommand, string[] args)
    {
        var image = Busybox with { EntryPoint = imageEntry, Command = imageCommand };

        var root = Build(Input(Spec(command: taskCommand, entryPoint: taskEntry), image));

        Assert.That(Strings(root.GetProperty("process").GetProperty("args")), Is.EqualTo(args));
    }

    [Test]
    public void No_command_at_all_is_refused()
    {
        var image = Busybox with { Command = [] };

        var error = Assert.Throws<ContainerOperationException>(() => OciSpecBuilder.Build(Input(Spec(), image)));

        Assert.That(error!.Message, Does.StartWith("CannotCreateContainerError: "));
    }

    [Test]
    public void The_init_becomes_pid_1_and_is_mounted_read_only()
    {
        var root = Build(Input(Spec(command: ["sleep", "5"]), init: "/usr/bin/docker-init"));

        var init = MountAt(root, "/sbin/docker-init");
        Assert.Multiple(() =>
        {
            Assert.That(Strings(root.GetProperty("process").GetProperty("args")), Is.EqualTo(new[] { "/sbin/docker-init", "--", "sleep", "5" }));
            Assert.That(init.GetProperty("source").GetString(), Is.EqualTo("/usr/bin/docker-init"));
            Assert.That(init.GetProperty("type").GetString(), Is.EqualTo("bind"));
            Assert.That(Strings(init.GetProperty("options")), Does.Contain("ro"));
        });
    }

    [Test]
    public void Without_a_network_namespace_the_container_is_on_the_hosts_network_and_its_sysctls_are_untouched()
    {
        var linux = Build(Input(Spec(), netns: null)).GetProperty("linux");

        Assert.Multiple(() =>
        {
            Assert.That(linux.GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()), Is.EqualTo(new[] { "pid", "ipc", "uts", "mount" }));
            Assert.That(linux.TryGetProperty("sysctl", out _), Is.False);
        });
    }

    [Test]
    public void In_a_network_namespace_of_its_own_low_ports_and_ping_are_allowed_as_docker_does()
    {
        var sysctl = Build(Input(Spec())).GetProperty("linux").GetProperty("sysctl");

        Assert.Multiple(() =>
        {
            Assert.That(sysctl.GetProperty("net.ipv4.ip_unprivileged_port_start").GetString(), Is.EqualTo("0"));
            Assert.That(sysctl.GetProperty("net.ipv4.ping_group_range").GetString(), Is.EqualTo("0 2147483647"));
        });
    }

    [Test]
    public void The_environment_is_the_images_replaced_by_the_tasks_then_the_secrets()
    {
        var image = Busybox with { Environment = ["PATH=/image/bin", "LANG=C", "MODE=image", "TOKEN=image"] };
        var spec = Spec(new ContainerOptions { Init = false, SecretEnvironment = [new("TOKEN", "s3cr3t"), new("DB_PASSWORD", "hunter2")] }, environment: ["MODE=task", "EXTRA=1", "TOKEN=plain"]);

        var root = Build(Input(spec, image));

        Assert.That(Strings(root.GetProperty("process").GetProperty("env")), Is.EqualTo(new[]
        {
            "PATH=/image/bin", "HOSTNAME=" + Hostname, "LANG=C", "MODE=task", "TOKEN=s3cr3t", "EXTRA=1", "DB_PASSWORD=hunter2",
        }));
    }

    [Test]
    public void A_tasks_name_without_a_value_removes_the_variable()
    {
        var image = Busybox with { Environment = ["PATH=/bin", "DEBUG=1"] };

        var root = Build(Input(Spec(environment: ["DEBUG", "UNSET"]), image));

        Assert.That(Strings(root.GetProperty("process").GetProperty("env")), Is.EqualTo(new[] { "PATH=/bin", "HOSTNAME=" + Hostname }));
    }

    [Test]
    public void Without_a_path_the_default_path_is_set()
    {
        var image = Busybox with { Environment = [] };

        var root = Build(Input(Spec(), image));

        Assert.That(Strings(root.GetProperty("process").GetProperty("env")), Is.EqualTo(new[]
        {
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + Hostname,
        }));
    }

    [TestCase("", "", "/")]
    [TestCase("", "/app", "/app")]
    [TestCase("/work", "/app", "/work")]
    public void The_working_directory_is_the_tasks_else_the_images_else_the_root(string task, string image, string cwd)
    {
        var root = Build(Input(Spec(new ContainerOptions { Init = false, WorkingDirectory = task }), Busybox with { WorkingDirectory = image }));

        Assert.That(root.GetProperty("process").GetProperty("cwd").GetString(), Is.EqualTo(cwd));
    }

    [Test]
    public void The_user_is_the_resolved_one()
    {
        var root = Build(Input(Spec(), user: new OciUser(1000, 1001, [50, 29])));

        var user = root.GetProperty("process").GetProperty("user");
        Assert.Multiple(() =>
        {
            Assert.That(user.GetProperty("uid").GetUInt32(), Is.EqualTo(1000));
            Assert.That(user.GetProperty("gid").GetUInt32(), Is.EqualTo(1001));
            Assert.That(user.GetProperty("additionalGids").EnumerateArray().Select(g => g.GetUInt32()), Is.EqualTo(new uint[] { 50, 29 }));
        });
    }

    [Test]
    public void Memory_and_cpu_go_to_the_resources_with_no_swap_beyond_the_limit()
    {
        var spec = Spec() with { MemoryBytes = 256L << 20, MemoryReservationBytes = 128L << 20, CpuShares = 512 };

        var resources = Build(Input(spec)).GetProperty("linux").GetProperty("resources");

        Assert.Multiple(() =>
        {
            Assert.That(resources.GetProperty("memory").GetProperty("limit").GetInt64(), Is.EqualTo(256L << 20));
            Assert.That(resources.GetProperty("memory").GetProperty("swap").GetInt64(), Is.EqualTo(256L << 20));
            Assert.That(resources.GetProperty("memory").GetProperty("reservation").GetInt64(), Is.EqualTo(128L << 20));
            Assert.That(resources.GetProperty("cpu").GetProperty("shares").GetInt64(), Is.EqualTo(512));
        });
    }

    [Test]
    public void A_reservation_alone_sets_no_limit()
    {
        var memory = Build(Input(Spec() with { MemoryReservationBytes = 64L << 20 })).GetProperty("linux").GetProperty("resources").GetProperty("memory");

        Assert.Multiple(() =>
        {
            Assert.That(memory.TryGetProperty("limit", out _), Is.False);
            Assert.That(memory.TryGetProperty("swap", out _), Is.False);
            Assert.That(memory.GetProperty("reservation").GetInt64(), Is.EqualTo(64L << 20));
        });
    }

    [Test]
    public void Binds_volumes_and_tmpfs_are_mounted_parents_first()
    {
        var options = new ContainerOptions
        {
            Init = false,
            Mounts = [new(MountKind.Bind, "/host/logs", "/data/logs", true), new(MountKind.Volume, "cache-1", "/data", false)],
            Tmpfs = [new("/run", 16L << 20, ["exec", "mode=1777"]), new("/scratch", 0, [])],
        };

        var root = Build(Input(Spec(options)));

        var mounts = root.GetProperty("mounts").EnumerateArray().Skip(10).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(mounts.Select(m => m.GetProperty("destination").GetString()), Is.EqualTo(new[] { "/data", "/run", "/scratch", "/data/logs" }));
            Assert.That(mounts[0].GetProperty("source").GetString(), Is.EqualTo("/volumes/cache-1/_data"));
            Assert.That(mounts[0].GetProperty("type").GetString(), Is.EqualTo("bind"));
            Assert.That(Strings(mounts[0].GetProperty("options")), Is.EqualTo(new[] { "rbind", "rprivate", "rw" }));
            Assert.That(mounts[3].GetProperty("source").GetString(), Is.EqualTo("/host/logs"));
            Assert.That(Strings(mounts[3].GetProperty("options")), Is.EqualTo(new[] { "rbind", "rprivate", "ro" }));
            Assert.That(mounts[1].GetProperty("type").GetString(), Is.EqualTo("tmpfs"));
            Assert.That(Strings(mounts[1].GetProperty("options")), Is.EqualTo(new[] { "nosuid", "nodev", "rprivate", "size=16777216", "exec", "mode=1777" }));
            Assert.That(Strings(mounts[2].GetProperty("options")), Is.EqualTo(new[] { "noexec", "nosuid", "nodev", "rprivate" }));
        });
    }

    [Test]
    public void A_tasks_mount_on_a_default_destination_replaces_the_default()
    {
        var options = new ContainerOptions { Init = false, Tmpfs = [new("/dev/shm", 1L << 30, [])], Mounts = [new(MountKind.Bind, "/srv/hosts", "/etc/hosts", true)] };

        var root = Build(Input(Spec(options)));

        Assert.Multiple(() =>
        {
            Assert.That(Strings(MountAt(root, "/dev/shm").GetProperty("options")), Does.Contain("size=1073741824"));
            Assert.That(MountAt(root, "/etc/hosts").GetProperty("source").GetString(), Is.EqualTo("/srv/hosts"));
        });
    }

    [Test]
    public void The_shm_size_is_the_tasks()
    {
        var root = Build(Input(Spec(new ContainerOptions { Init = false, SharedMemoryBytes = 256L << 20 })));

        Assert.That(Strings(MountAt(root, "/dev/shm").GetProperty("options")), Does.Contain("size=268435456").And.Not.Contain("size=67108864"));
    }

    [Test]
    public void A_read_only_root_makes_the_root_and_the_sandbox_files_read_only()
    {
        var root = Build(Input(Spec(new ContainerOptions { Init = false, ReadonlyRootFilesystem = true })));

        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("root").GetProperty("readonly").GetBoolean(), Is.True);
            Assert.That(Strings(MountAt(root, "/etc/hosts").GetProperty("options")), Does.Contain("ro"));
            Assert.That(Strings(MountAt(root, "/etc/resolv.conf").GetProperty("options")), Does.Contain("ro"));
        });
    }

    [Test]
    public void The_hostname_is_the_tasks()
    {
        var root = Build(Input(Spec(new ContainerOptions { Init = false, Hostname = "web-1" })));

        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("hostname").GetString(), Is.EqualTo("web-1"));
            Assert.That(Strings(root.GetProperty("process").GetProperty("env")), Does.Contain("HOSTNAME=web-1"));
        });
    }

    // Docker's TweakCapabilities.
    [TestCase(new string[0], new[] { "NET_RAW", "mknod" }, "-CAP_NET_RAW,-CAP_MKNOD")]
    [TestCase(new[] { "SYS_ADMIN", "cap_net_admin" }, new string[0], "+CAP_SYS_ADMIN,+CAP_NET_ADMIN")]
    [TestCase(new[] { "NET_RAW" }, new[] { "NET_RAW" }, "")]
    [TestCase(new[] { "SYS_PTRACE" }, new[] { "ALL" }, "only:CAP_SYS_PTRACE")]
    [TestCase(new string[0], new[] { "all" }, "only:")]
    [TestCase(new[] { "ALL" }, new[] { "SYS_ADMIN" }, "all-but:CAP_SYS_ADMIN")]
    public void Capabilities_are_added_and_dropped_as_docker_does(string[] added, string[] dropped, string expected)
    {
        var root = Build(Input(Spec(new ContainerOptions { Init = false, CapabilitiesAdded = added, CapabilitiesDropped = dropped })));

        var capabilities = root.GetProperty("process").GetProperty("capabilities");
        var bounding = Strings(capabilities.GetProperty("bounding"));
        IEnumerable<string> wanted = expected switch
        {
            _ when expected.StartsWith("only:", StringComparison.Ordinal) => expected[5..].Split(',', StringSplitOptions.RemoveEmptyEntries),
            _ when expected.StartsWith("all-but:", StringComparison.Ordinal) => OciCapabilities.All.Where(c => c != expected[8..]),
            _ => OciCapabilities.Default
                .Where(c => !expected.Split(',').Contains("-" + c))
                .Concat(expected.Split(',', StringSplitOptions.RemoveEmptyEntries).Where(c => c[0] == '+').Select(c => c[1..])),
        };
        Assert.Multiple(() =>
        {
            Assert.That(bounding, Is.EqualTo(wanted));
            Assert.That(Strings(capabilities.GetProperty("effective")), Is.EqualTo(bounding));
            Assert.That(Strings(capabilities.GetProperty("permitted")), Is.EqualTo(bounding));
        });
    }

    [Test]
    public void An_unknown_capability_is_refused()
    {
        var error = Assert.Throws<ContainerOperationException>(() => OciSpecBuilder.Build(Input(Spec(new ContainerOptions { Init = false, CapabilitiesAdded = ["CAP_FLY"] }))));

        Assert.That(error!.Message, Is.EqualTo("CannotCreateContainerError: unknown capability: \"CAP_FLY\""));
    }

    [Test]
    public void Ulimits_replace_the_default_nofile_and_join_it()
    {
        var root = Build(Input(Spec(new ContainerOptions { Init = false, Ulimits = [new("nofile", 4096, 8192), new("nproc", 100, 200), new("core", -1, -1)] })));

        var limits = root.GetProperty("process").GetProperty("rlimits").EnumerateArray()
            .Select(l => (l.GetProperty("type").GetString(), l.GetProperty("soft").GetUInt64(), l.GetProperty("hard").GetUInt64()));
        Assert.That(limits, Is.EqualTo(new[] { ("RLIMIT_NOFILE", 4096UL, 8192UL), ("RLIMIT_NPROC", 100UL, 200UL), ("RLIMIT_CORE", ulong.MaxValue, ulong.MaxValue) }));
    }

    [TestCase("wings", "invalid ulimit type: wings")]
    public void A_bad_ulimit_is_refused(string name, string message)
    {
        var error = Assert.Throws<ContainerOperationException>(() => OciSpecBuilder.Build(Input(Spec(new ContainerOptions { Init = false, Ulimits = [new(name, 1, 2)] }))));

        Assert.That(error!.Message, Is.EqualTo("CannotCreateContainerError: " + message));
    }

    [Test]
    public void A_soft_limit_above_the_hard_one_is_refused() =>
        Assert.Throws<ContainerOperationException>(() => OciSpecBuilder.Build(Input(Spec(new ContainerOptions { Init = false, Ulimits = [new("nofile", 10, 5)] }))));

    [Test]
    public void Labels_do_not_go_into_the_spec()
    {
        var json = OciSpecBuilder.Build(Input(Spec()));

        Assert.That(json, Does.Not.Contain("orchestrator.task").And.Not.Contain("\"t1\""));
    }

    private static IEnumerable<TestCaseData> DockerOnly()
    {
        yield return new TestCaseData(new ContainerOptions { VolumesFrom = ["other:ro"] }, "volumesFrom");
        yield return new TestCaseData(new ContainerOptions { Links = ["db:db"] }, "links");
        yield return new TestCaseData(new ContainerOptions { Privileged = true }, "privileged");
        yield return new TestCaseData(new ContainerOptions { Tty = true }, "pseudoTerminal");
        yield return new TestCaseData(new ContainerOptions { OpenStdin = true }, "interactive");
        yield return new TestCaseData(new ContainerOptions { NetworkMode = "app", NetworkAliases = ["db"] }, "network aliases");
        yield return new TestCaseData(new ContainerOptions { Log = new("awslogs", new Dictionary<string, string>()) }, "log driver awslogs");
        yield return new TestCaseData(new ContainerOptions { Log = new("syslog", new Dictionary<string, string>()) }, "log driver syslog");
    }

    [TestCaseSource(nameof(DockerOnly))]
    public void Docker_only_fields_are_refused_by_name(ContainerOptions options, string field)
    {
        var spec = Spec(options with { SecretEnvironment = [new("TOKEN", "s3cr3t")] });

        var error = Assert.Throws<ContainerOperationException>(() => OciSpecBuilder.Build(Input(spec)));

        Assert.That(error!.Message, Is.EqualTo($"CannotCreateContainerError: {field} is not supported by the containerd runtime"));
    }

    [TestCase("local")]
    [TestCase("json-file")]
    [TestCase("none")]
    public void The_log_drivers_the_agent_supplies_itself_are_taken(string driver) =>
        Assert.DoesNotThrow(() => OciSpecBuilder.Build(Input(Spec(new ContainerOptions { Init = false, Log = new(driver, new Dictionary<string, string> { ["max-size"] = "10m" }) }))));

    [Test]
    public void No_error_carries_a_secret_value()
    {
        var secrets = new ContainerOptions { Init = false, SecretEnvironment = [new("TOKEN", "s3cr3t-value")] };
        var broken = new Func<ContainerOptions, ContainerOptions>[]
        {
            o => o with { CapabilitiesAdded = ["NOPE"] },
            o => o with { Ulimits = [new("nope", 1, 1)] },
            o => o with { Privileged = true },
        };

        foreach (var breakIt in broken)
        {
            var error = Assert.Throws<ContainerOperationException>(() => OciSpecBuilder.Build(Input(Spec(breakIt(secrets)))));
            Assert.That(error!.ToString(), Does.Not.Contain("s3cr3t-value"));
        }
    }

    [TestCase("relative/path", "invalid mount path: 'relative/path' mount path must be absolute")]
    [TestCase("/", "invalid specification: destination can't be '/'")]
    [TestCase("/data/", "Duplicate mount point: /data")]
    public void Bad_mount_destinations_are_refused_with_dockers_words(string target, string message)
    {
        var options = new ContainerOptions { Init = false, Mounts = [new(MountKind.Bind, "/host", target, false)], Tmpfs = [new("/data", 0, [])] };

        var error = Assert.Throws<ContainerOperationException>(() => OciSpecBuilder.Build(Input(Spec(options))));

        Assert.That(error!.Message, Is.EqualTo("CannotCreateContainerError: " + message));
    }
}
