using System.Text.Json;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Oci;

namespace Orchestrator.Agent.Tests.Containerd;

internal sealed class OciSpecBuilderTests
{
    private static readonly ImageConfig Busybox = new("docker.io/library/busybox:latest", "sha256:chain", ["PATH=/bin", "LANG=C"], [], ["sh"], "", "", "");

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
            Assert.That(root.GetProperty("hostname").GetString(), Is.EqualTo("task-0123456"));

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
    public void Without_a_network_namespace_the_container_is_on_the_hosts_network()
    {
        var root = Build(Input(Spec(), netns: null));

        Assert.That(root.GetProperty("linux").GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("type").GetString()), Is.EqualTo(new[] { "pid", "ipc", "uts", "mount" }));
    }
}
