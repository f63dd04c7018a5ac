using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;

namespace Orchestrator.Agent.Tests.Containerd;

/// <summary>The pure parts of the containerd runtime: its labels, signals, filters, events and root file system directories.</summary>
public sealed class ContainerdRuntimeLabelsTests
{
    [TestCase("", 15u)]
    [TestCase("SIGTERM", 15u)]
    [TestCase("TERM", 15u)]
    [TestCase("sigquit", 3u)]
    [TestCase("9", 9u)]
    [TestCase("SIGRTMIN+3", 37u)]
    [TestCase("RTMAX-1", 63u)]
    [TestCase("SIGWINCH", 28u)]
    public void ParseSignal_takes_names_and_numbers(string signal, uint expected) =>
        Assert.That(RuntimeLabels.ParseSignal(signal), Is.EqualTo(expected));

    [TestCase("SIGNOPE")]
    [TestCase("0")]
    [TestCase("65")]
    public void ParseSignal_refuses_what_is_no_signal(string signal) =>
        Assert.That(RuntimeLabels.ParseSignal(signal), Is.Null);

    [Test]
    public void LogLimits_are_dockers_local_defaults_unless_given()
    {
        Assert.That(RuntimeLabels.LogLimits(null), Is.EqualTo(((long)20 * 1024 * 1024, 5)));
        Assert.That(RuntimeLabels.LogLimits(new LogSpec("json-file", new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" })), Is.EqualTo(((long)10 * 1024 * 1024, 3)));
        Assert.That(RuntimeLabels.LogLimits(new LogSpec("local", new Dictionary<string, string> { ["max-size"] = "bogus", ["max-file"] = "0" })), Is.EqualTo(((long)20 * 1024 * 1024, 5)));
        Assert.That(RuntimeLabels.LogLimits(new LogSpec("none", new Dictionary<string, string>())), Is.Null);
    }

    [Test]
    public void Filter_quotes_key_and_value()
    {
        Assert.That(RuntimeLabels.Filter("orchestrator.node", "node-1"), Is.EqualTo("labels.\"orchestrator.node\"==\"node-1\""));
        Assert.That(RuntimeLabels.Filter("k", "a\"b\\c"), Is.EqualTo("labels.\"k\"==\"a\\\"b\\\\c\""));
    }

    [Test]
    public void Ports_round_trip_through_their_label()
    {
        PortSpec[] ports = [new(80, 8080, false, "0.0.0.0"), new(53, 5353, true, "127.0.0.1")];
        var labels = new Dictionary<string, string> { [RuntimeLabels.Ports] = RuntimeLabels.FormatPorts(ports) };

        Assert.That(RuntimeLabels.ParsePorts(labels), Is.EqualTo(ports));
        Assert.That(RuntimeLabels.ParsePorts(new Dictionary<string, string>()), Is.Empty);
        Assert.That(RuntimeLabels.ParsePorts(new Dictionary<string, string> { [RuntimeLabels.Ports] = "not json" }), Is.Empty);
    }

    [TestCase("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", 2L)]
    [TestCase("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n", 1L)]
    [TestCase("oom_kill_disable 0\nunder_oom 0\n", 0L)]
    public void ParseOomKills_reads_cgroup_v1_and_v2(string text, long expected) =>
        Assert.That(ContainerdRuntime.ParseOomKills(text), Is.EqualTo(expected));

    [Test]
    public void RootfsDirectories_are_upper_then_lower_layers()
    {
        var overlay = new global::Containerd.Types.Mount { Type = "overlay", Source = "overlay" };
        overlay.Options.Add(["index=off", "workdir=/s/2/work", "upperdir=/s/2/fs", "lowerdir=/s/1/fs:/s/0/fs"]);
        var bind = new global::Containerd.Types.Mount { Type = "bind", Source = "/s/1/fs" };
        bind.Options.Add(["ro", "rbind"]);

        Assert.That(ContainerdRuntime.RootfsDirectories([overlay]), Is.EqualTo(new[] { "/s/2/fs", "/s/1/fs", "/s/0/fs" }));
        Assert.That(ContainerdRuntime.RootfsDirectories([bind]), Is.EqualTo(new[] { "/s/1/fs" }));
    }

    [Test]
    public void TaskEvents_are_the_inits_only()
    {
        var start = Pack(new global::Containerd.Events.TaskStart { ContainerId = "c", Pid = 10 });
        var initExit = Pack(new global::Containerd.Events.TaskExit { ContainerId = "c", Id = "c", ExitStatus = 3 });
        var execExit = Pack(new global::Containerd.Events.TaskExit { ContainerId = "c", Id = "exec-1", ExitStatus = 1 });
        var oom = Pack(new global::Containerd.Events.TaskOOM { ContainerId = "c" });

        Assert.That(TaskEvents.Parse(TaskEvents.Start, start), Is.EqualTo((RuntimeEventKind.Started, "c", (int?)null)));
        Assert.That(TaskEvents.Parse(TaskEvents.Exit, initExit), Is.EqualTo((RuntimeEventKind.Died, "c", (int?)3)));
        Assert.That(TaskEvents.Parse(TaskEvents.Exit, execExit), Is.Null);
        Assert.That(TaskEvents.Parse(TaskEvents.Oom, oom), Is.EqualTo((RuntimeEventKind.OutOfMemory, "c", (int?)null)));
        Assert.That(TaskEvents.Parse("/tasks/delete", oom), Is.Null);
    }

    private static Any Pack(IMessage message) => new() { TypeUrl = "containerd.events." + message.Descriptor.Name, Value = message.ToByteString() };
}
