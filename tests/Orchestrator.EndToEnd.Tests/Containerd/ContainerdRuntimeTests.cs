using System.Text;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests.Containerd;

/// <summary>
/// <see cref="ContainerdRuntime"/> on a real containerd of the test's own: exit codes, stop with its
/// timeout, OOM kills, events, exec, a restarted agent finding its containers, removal leaving nothing,
/// and containerd being away.
/// </summary>
internal sealed class ContainerdRuntimeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private ContainerdRuntimeFixture _fixture = null!;
    private (string Key, string Value) _label;
    private readonly List<string> _containers = [];

    private ContainerdRuntime Runtime => _fixture.Runtime;

    [OneTimeSetUp]
    public async Task StartContainerd() => _fixture = await ContainerdRuntimeFixture.StartAsync();

    [OneTimeTearDown]
    public void StopContainerd() => _fixture?.Dispose();

    [SetUp]
    public void NewLabel() => _label = ("orchestrator.test", Guid.NewGuid().ToString("N"));

    [TearDown]
    public async Task RemoveContainers()
    {
        foreach (var id in _containers)
        {
            await Runtime.RemoveAsync(id, CancellationToken.None);
        }

        _containers.Clear();
    }

    private async Task<string> RunAsync(ContainerSpec spec)
    {
        using var bound = new CancellationTokenSource(Bound);
        _containers.Add(spec.Name);
        await Runtime.CreateAsync(spec, bound.Token);
        await Runtime.StartAsync(spec.Name, bound.Token);
        return spec.Name;
    }

    private async Task<ContainerInfo> WaitForExitAsync(string id, ContainerdRuntime? runtime = null)
    {
        ContainerInfo? info = null;
        await Polling.UntilAsync(async () => (info = await (runtime ?? Runtime).InspectAsync(id, CancellationToken.None)) is { Running: false, ExitCode: not null }, $"{id} has exited", Bound);
        return info!;
    }

    [Test]
    public async Task InfoTellsContainerdsVersionAndTheHost()
    {
        var info = await Runtime.InfoAsync(CancellationToken.None);

        Assert.That(info.Version, Is.Not.Empty);
        Assert.That(info.Cpus, Is.EqualTo(Environment.ProcessorCount));
        Assert.That(info.MemoryBytes, Is.GreaterThan(0));
        Assert.That(info.OperatingSystem, Is.EqualTo("linux"));
        Assert.That(Runtime.Capabilities, Is.EqualTo(RuntimeCapabilities.OfContainerd));
    }

    [Test]
    public async Task AMissingSocketIsRuntimeUnavailable()
    {
        var socket = Path.Combine(_fixture.Containerd.Directory, "nobody-here.sock");
        using var clients = new ContainerdClients(socket, ContainerdProcess.Namespace);
        var runtime = new ContainerdRuntime(clients, _fixture.Options, _fixture.DataDirectory, new ContainerdImages(clients, _fixture.Options), null!, null!, null!);

        var thrown = Assert.ThrowsAsync<RuntimeUnavailableException>(() => runtime.InfoAsync(CancellationToken.None));
        Assert.That(thrown!.Message, Does.StartWith($"containerd is not reachable at {socket}"));
        Assert.ThrowsAsync<RuntimeUnavailableException>(() => runtime.InspectAsync("any", CancellationToken.None));
    }

    [Test]
    public async Task AContainerExitsWithItsCommandsCode()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("exit"), _label, "sh", "-c", "echo hello; exit 3"));

        var info = await WaitForExitAsync(id);

        Assert.That(info.ExitCode, Is.EqualTo(3));
        Assert.That(info.OomKilled, Is.False);
        Assert.That(info.Labels[_label.Key], Is.EqualTo(_label.Value));
        Assert.That(info.StartedAt, Is.Not.Null);
        Assert.That(info.FinishedAt, Is.Not.Null);
        Assert.That(info.FinishedAt!.Value, Is.GreaterThanOrEqualTo(info.StartedAt!.Value));
        var log = await File.ReadAllTextAsync(Path.Combine(Runtime.LogsDirectory, id, "container.log"));
        Assert.That(log, Does.Contain("hello"));
    }

    [Test]
    public async Task AContainerWhoseTaskIsGoneIsReportedExitedNotNeverStarted()
    {
        // A host reboot (or a dead shim) leaves containerd's container and takes its task: an adopting
        // agent must see a container that ran and is over, not one to start for the first time.
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("gone"), _label, "sleep", "600"));
        Assert.That(_fixture.Containerd.Ctr("tasks", "kill", "-s", "SIGKILL", id).ExitCode, Is.Zero);
        await Polling.UntilAsync(() => Task.FromResult(_fixture.Containerd.Ctr("tasks", "delete", id).ExitCode == 0), "the killed task deleted behind the runtime's back", Bound);

        var info = await _fixture.NewRuntime().InspectAsync(id, CancellationToken.None);

        Assert.That((info!.Running, info.ExitCode, info.StartedAt is not null), Is.EqualTo((false, 255, true)));
        Assert.That(info.Error, Does.Contain("task is gone"));
    }

    [Test]
    public async Task LogsAreReadAndFollowedUntilTheContainerStops()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("logs"), _label, "sh", "-c", "echo one; echo two >&2; sleep 1; echo three"));
        using var bound = new CancellationTokenSource(Bound);

        var text = new StringBuilder();
        await foreach (var chunk in Runtime.ReadLogsAsync(id, new LogReadOptions(Follow: true, Tail: null, Since: null, Timestamps: false), bound.Token))
        {
            text.Append(Encoding.UTF8.GetString(chunk.Bytes.Span));
        }

        // One file for both streams; the shim copies each stream on its own, so only each one's order holds.
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.EquivalentTo(new[] { "one", "two", "three" }));
        Assert.That(Array.IndexOf(lines, "one"), Is.LessThan(Array.IndexOf(lines, "three")));
        Assert.That((await Runtime.InspectAsync(id, CancellationToken.None))!.Running, Is.False);
    }

    [Test]
    public async Task ACreatedContainerIsNotRunningAndHasNoExitCode()
    {
        var spec = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("created"), _label, "true");
        _containers.Add(spec.Name);
        await Runtime.CreateAsync(spec, CancellationToken.None);

        var info = await Runtime.InspectAsync(spec.Name, CancellationToken.None);

        Assert.That(info, Is.Not.Null);
        Assert.That(info!.Running, Is.False);
        Assert.That(info.ExitCode, Is.Null);
        Assert.That(info.StartedAt, Is.Null);
    }

    [Test]
    public async Task ASecondContainerOfOneNameIsDockersConflictAndTheFirstIsKept()
    {
        var spec = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("twice"), _label, "sh", "-c", "exit 5");
        _containers.Add(spec.Name);
        await Runtime.CreateAsync(spec, CancellationToken.None);

        var thrown = Assert.ThrowsAsync<ContainerOperationException>(() => Runtime.CreateAsync(spec, CancellationToken.None));

        Assert.That(thrown!.Message, Does.StartWith("CannotCreateContainerError: Conflict.").And.Contain("is already in use"));
        await Runtime.StartAsync(spec.Name, CancellationToken.None);
        Assert.That((await WaitForExitAsync(spec.Name)).ExitCode, Is.EqualTo(5));
    }

    [Test]
    public async Task AMissingCommandIsCannotStartAndLeavesNoTask()
    {
        var spec = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("nocmd"), _label, "/no/such/binary") with { };
        spec = spec with { Options = spec.Options with { Init = false } };
        _containers.Add(spec.Name);
        await Runtime.CreateAsync(spec, CancellationToken.None);

        var thrown = Assert.ThrowsAsync<ContainerOperationException>(() => Runtime.StartAsync(spec.Name, CancellationToken.None));

        Assert.That(thrown!.Message, Does.StartWith("CannotStartContainerError: "));
        Assert.That(_fixture.Containerd.Ctr("tasks", "ls", "-q").Output, Does.Not.Contain(spec.Name));
    }

    [Test]
    public async Task StopSendsSigtermFirst()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("term"), _label, "sleep", "1000"));
        await Polling.UntilAsync(async () => (await Runtime.InspectAsync(id, CancellationToken.None))!.Running, $"{id} runs", Bound);

        await Runtime.StopAsync(id, TimeSpan.FromSeconds(30), CancellationToken.None);

        // The init forwards SIGTERM to sleep, which dies of it: 128 + 15.
        var info = await Runtime.InspectAsync(id, CancellationToken.None);
        Assert.That(info!.Running, Is.False);
        Assert.That(info.ExitCode, Is.EqualTo(143));
    }

    [Test]
    public async Task StopKillsAContainerThatIgnoresSigtermAtTheTimeout()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("stubborn"), _label, "sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"));
        var log = Path.Combine(Runtime.LogsDirectory, id, "container.log");
        await Polling.UntilAsync(() => Task.FromResult(File.Exists(log) && File.ReadAllText(log).Contains("ready", StringComparison.Ordinal)), $"{id} has set its trap", Bound);

        await Runtime.StopAsync(id, TimeSpan.FromSeconds(1), CancellationToken.None);

        var info = await Runtime.InspectAsync(id, CancellationToken.None);
        Assert.That(info!.Running, Is.False);
        Assert.That(info.ExitCode, Is.EqualTo(137));
        Assert.That(info.OomKilled, Is.False);

        // Stopping a stopped container is fine.
        await Runtime.StopAsync(id, TimeSpan.FromSeconds(1), CancellationToken.None);
    }

    [Test]
    public async Task EventsTellStartAndDeathOfLabelledContainersOnly()
    {
        using var cancel = new CancellationTokenSource(Bound);
        var events = Runtime.EventsAsync(_label.Key, _label.Value, cancel.Token).GetAsyncEnumerator(cancel.Token);
        var next = events.MoveNextAsync();
        await Task.Delay(500); // the subscription is made on the first read; nothing is lost by waiting for it
        var other = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("other"), ("orchestrator.test", "someone-else"), "true");
        await RunAsync(other);
        await WaitForExitAsync(other.Name);
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("events"), _label, "sh", "-c", "exit 4"));

        var seen = new List<RuntimeEvent>();
        while (seen.Count < 2 && await next)
        {
            seen.Add(events.Current);
            next = events.MoveNextAsync();
        }

        Assert.That(seen.Select(e => (e.Kind, e.ContainerId)), Is.EqualTo(new[] { (RuntimeEventKind.Started, id), (RuntimeEventKind.Died, id) }));
        Assert.That(seen[1].ExitCode, Is.EqualTo(4));
        Assert.That(seen[1].Labels[_label.Key], Is.EqualTo(_label.Value));
        await cancel.CancelAsync();
        try
        {
            await next;
        }
        catch (OperationCanceledException)
        {
        }

        await events.DisposeAsync();
    }

    [Test]
    public async Task AContainerOverItsMemoryIsOomKilled()
    {
        using var cancel = new CancellationTokenSource(Bound);
        var events = Runtime.EventsAsync(_label.Key, _label.Value, cancel.Token).GetAsyncEnumerator(cancel.Token);
        var next = events.MoveNextAsync();
        await Task.Delay(500);
        var spec = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("oom"), _label, "sh", "-c", "x=0123456789; while :; do x=$x$x$x$x; done") with { MemoryBytes = 8 * 1024 * 1024 };
        var id = await RunAsync(spec);

        var kinds = new List<RuntimeEventKind>();
        while (!kinds.Contains(RuntimeEventKind.Died) && await next)
        {
            kinds.Add(events.Current.Kind);
            next = events.MoveNextAsync();
        }

        Assert.That(kinds, Does.Contain(RuntimeEventKind.OutOfMemory));
        var info = await WaitForExitAsync(id);
        Assert.That(info.ExitCode, Is.EqualTo(137));
        Assert.That(info.OomKilled, Is.True);

        // Known after an agent restart too (a label on the container).
        Assert.That((await _fixture.NewRuntime().InspectAsync(id, CancellationToken.None))!.OomKilled, Is.True);
        await cancel.CancelAsync();
        try
        {
            await next;
        }
        catch (OperationCanceledException)
        {
        }

        await events.DisposeAsync();
    }

    [Test]
    public async Task AnOomKillIsSeenWithoutItsEvent()
    {
        var spec = ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("oom-quiet"), _label, "sh", "-c", "x=0123456789; while :; do x=$x$x$x$x; done") with { MemoryBytes = 8 * 1024 * 1024 };
        var id = await RunAsync(spec);

        var info = await WaitForExitAsync(id);

        Assert.That(info.ExitCode, Is.EqualTo(137));
        Assert.That(info.OomKilled, Is.True);
    }

    [Test]
    public async Task ARestartedAgentListsStopsAndRemovesWhatTheLastOneMade()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("adopt"), _label, "sleep", "1000") with
        {
            Ports = [new PortSpec(8080, 8080, false, "0.0.0.0")],
        });
        await Polling.UntilAsync(async () => (await Runtime.InspectAsync(id, CancellationToken.None))!.Running, $"{id} runs", Bound);

        var restarted = _fixture.NewRuntime();
        var listed = await restarted.ListAsync(_label.Key, _label.Value, CancellationToken.None);

        Assert.That(listed.Select(c => c.Id), Is.EqualTo(new[] { id }));
        Assert.That(listed[0].Running, Is.True);
        Assert.That(listed[0].StartedAt, Is.Not.Null);
        Assert.That(listed[0].Ports, Is.EqualTo(new[] { new PortSpec(8080, 8080, false, "0.0.0.0") }));
        await restarted.StopAsync(id, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.That((await restarted.InspectAsync(id, CancellationToken.None))!.ExitCode, Is.EqualTo(143));
        await restarted.RemoveAsync(id, CancellationToken.None);
        Assert.That(await Runtime.InspectAsync(id, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task RemoveLeavesNothingBehind()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("remove"), _label, "sleep", "1000"));
        await Polling.UntilAsync(async () => (await Runtime.InspectAsync(id, CancellationToken.None))!.Running, $"{id} runs", Bound);

        await Runtime.RemoveAsync(id, CancellationToken.None);

        Assert.That(await Runtime.InspectAsync(id, CancellationToken.None), Is.Null);
        Assert.That(_fixture.Containerd.Ctr("containers", "ls", "-q").Output, Does.Not.Contain(id));
        Assert.That(_fixture.Containerd.Ctr("tasks", "ls", "-q").Output, Does.Not.Contain(id));
        Assert.That(_fixture.Containerd.Ctr("snapshots", "ls").Output, Does.Not.Contain(id));
        Assert.That(Directory.Exists(Path.Combine(Runtime.LogsDirectory, id)), Is.False);
        Assert.That(Directory.Exists(Path.Combine(Runtime.SandboxDirectory, id)), Is.False);
        Assert.That(await Runtime.ListAsync(_label.Key, _label.Value, CancellationToken.None), Is.Empty);

        // Removing a missing one is fine.
        await Runtime.RemoveAsync(id, CancellationToken.None);
    }

    [Test]
    public async Task ExecGivesTheCommandsOutputAndExitCode()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("exec"), _label, "sleep", "1000"));
        await Polling.UntilAsync(async () => (await Runtime.InspectAsync(id, CancellationToken.None))!.Running, $"{id} runs", Bound);
        using var bound = new CancellationTokenSource(Bound);

        await using var process = await Runtime.ExecAsync(id, new ExecSpec(["sh", "-c", "echo out; echo err >&2; echo $GREETING; exit 7"], false, false, 0, 0, ["GREETING=hi"]), bound.Token);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var (stream, count) = await process.ReadAsync(buffer, bound.Token);
            if (count == 0)
            {
                break;
            }

            (stream == OutputStream.Stdout ? stdout : stderr).Append(Encoding.UTF8.GetString(buffer, 0, count));
        }

        Assert.That(stdout.ToString(), Is.EqualTo("out\nhi\n"));
        Assert.That(stderr.ToString(), Is.EqualTo("err\n"));
        Assert.That(await process.InspectAsync(bound.Token), Is.EqualTo(new ExecState(false, 7)));
    }

    [Test]
    public async Task AKilledExecEnds()
    {
        var id = await RunAsync(ContainerdRuntimeFixture.Spec(ContainerdRuntimeFixture.NewName("exec-kill"), _label, "sleep", "1000"));
        await Polling.UntilAsync(async () => (await Runtime.InspectAsync(id, CancellationToken.None))!.Running, $"{id} runs", Bound);
        using var bound = new CancellationTokenSource(Bound);

        await using var process = await Runtime.ExecAsync(id, new ExecSpec(["sleep", "1000"], false, false, 0, 0, []), bound.Token);
        Assert.That((await process.InspectAsync(bound.Token)).Running, Is.True);

        Assert.That(await process.KillAsync(bound.Token), Is.True);
        Assert.That(await process.InspectAsync(bound.Token), Is.EqualTo(new ExecState(false, 137)));
        Assert.That((await Runtime.InspectAsync(id, CancellationToken.None))!.Running, Is.True, "the container itself runs on");
    }

    [Test]
    public void ExecWithATtyIsRefused()
    {
        var thrown = Assert.ThrowsAsync<ContainerOperationException>(() => Runtime.ExecAsync("any", new ExecSpec(["sh"], true, true, 24, 80, []), CancellationToken.None));
        Assert.That(thrown!.Message, Does.Contain("tty"));
    }

    [Test]
    public void TaskNetworksAreDockersOnly()
    {
        var thrown = Assert.ThrowsAsync<ContainerOperationException>(() => Runtime.CreateNetworkAsync(new NetworkSpec("n", new Dictionary<string, string>()), CancellationToken.None));
        Assert.That(thrown!.Message, Does.Contain("awsvpc needs the docker runtime"));
    }
}
