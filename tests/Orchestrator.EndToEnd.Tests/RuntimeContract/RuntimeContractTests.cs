using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Orchestrator.Agent.Runtime;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests.RuntimeContract;

/// <summary>
/// What every container runtime of the agent must do, written once and run against each engine (as
/// Orleans runs one suite over every storage provider): a subclass says how to reach its engine, make a
/// runtime object over it and list what the engine still holds of a test. Each test labels what it
/// makes with a label of its own and names it with a prefix of its own, and TearDown removes everything
/// with that label whether the test passed or not.
/// </summary>
internal abstract class RuntimeContractTests
{
    protected const string Image = "orchestrator-test/busybox:latest";
    protected const string LabelKey = "orchestrator.contract";

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly List<IContainerRuntime> _runtimes = [];
    private readonly ConcurrentQueue<RuntimeEvent> _events = new();
    private CancellationTokenSource _eventsStop = new();
    private Task _eventsReader = Task.CompletedTask;

    /// <summary>This test's label value and its containers' name prefix (the agent's names are [a-z0-9-]).</summary>
    protected string Prefix { get; private set; } = "";

    protected IContainerRuntime Runtime { get; private set; } = null!;

    /// <summary>True where stdout and stderr are kept apart (Docker); containerd's shim writes both to one file.</summary>
    protected abstract bool SeparatesOutputStreams { get; }

    /// <summary>Starts or checks the engine, once for the fixture.</summary>
    protected abstract Task StartEngineAsync();

    protected abstract void StopEngine();

    /// <summary>A NEW runtime object over the same engine, as an agent that restarts makes one.</summary>
    protected abstract IContainerRuntime NewRuntime();

    /// <summary>What the engine itself (not the runtime object) still holds whose name contains the prefix: containers, tasks, snapshots, network namespaces.</summary>
    protected abstract IReadOnlyList<string> EngineLeftovers(string prefix);

    [OneTimeSetUp]
    public Task OneTimeSetUpAsync() => StartEngineAsync();

    [OneTimeTearDown]
    public void OneTimeTearDown() => StopEngine();

    [SetUp]
    public async Task SetUpAsync()
    {
        Prefix = $"contract-{Guid.NewGuid():N}"[..17];
        Runtime = Track(NewRuntime());
        _events.Clear();
        _eventsStop = new CancellationTokenSource();
        var stop = _eventsStop.Token;
        var runtime = Runtime;
        _eventsReader = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in runtime.EventsAsync(LabelKey, Prefix, stop))
                {
                    _events.Enqueue(e);
                }
            }
            catch (OperationCanceledException)
            {
                // The test is over.
            }
        }, CancellationToken.None);
        await Runtime.EnsureImageAsync(Image, CancellationToken.None);

        // The subscription is open before anything happens (EventsAsync starts on its first MoveNext).
        await Task.Delay(300);
    }

    [TearDown]
    public async Task TearDownAsync()
    {
        if (Runtime is null)
        {
            return;
        }

        await _eventsStop.CancelAsync();
        await Task.WhenAny(_eventsReader, Task.Delay(TimeSpan.FromSeconds(10)));
        _eventsStop.Dispose();
        try
        {
            using var bound = new CancellationTokenSource(Bound);
            foreach (var container in await Runtime.ListAsync(LabelKey, Prefix, bound.Token))
            {
                await Runtime.RemoveAsync(container.Id, bound.Token);
            }
        }
        finally
        {
            foreach (var runtime in _runtimes)
            {
                await DisposeAsync(runtime);
            }

            _runtimes.Clear();
            Runtime = null!;
        }
    }

    private IContainerRuntime Track(IContainerRuntime runtime)
    {
        _runtimes.Add(runtime);
        return runtime;
    }

    private static async Task DisposeAsync(IContainerRuntime runtime)
    {
        if (runtime is IAsyncDisposable asynchronous)
        {
            await asynchronous.DisposeAsync();
        }
        else if (runtime is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    protected ContainerSpec Spec(string name, IReadOnlyList<string> command, long memoryMiB = 32, IReadOnlyList<PortSpec>? ports = null,
        HealthCheckSpec? health = null, int stopTimeoutSeconds = 10) =>
        new($"{Prefix}-{name}", Image, command, [], ["CONTRACT=yes"], 128, memoryMiB * 1024 * 1024, 0, ports ?? [], health, stopTimeoutSeconds,
            new Dictionary<string, string> { [LabelKey] = Prefix, ["contract.case"] = name })
        {
            // What the agent asks for on every task: bridge networking (published ports) and an init.
            Options = new ContainerOptions { NetworkMode = "bridge" },
        };

    protected async Task<string> RunAsync(ContainerSpec spec)
    {
        var id = await Runtime.CreateAsync(spec, CancellationToken.None);
        await Runtime.StartAsync(id, CancellationToken.None);
        return id;
    }

    protected async Task<ContainerInfo> WaitUntilAsync(string id, Func<ContainerInfo, bool> condition, string what)
    {
        ContainerInfo? last = null;
        await Polling.UntilAsync(async () => (last = await Runtime.InspectAsync(id, CancellationToken.None)) is { } info && condition(info),
            what, Bound, () => $"last inspect: {last}", intervalMilliseconds: 200);
        return last!;
    }

    protected Task<ContainerInfo> WaitForExitAsync(string id) =>
        WaitUntilAsync(id, info => !info.Running && info.ExitCode is not null, $"container {id} exited");

    protected async Task<RuntimeEvent> WaitForEventAsync(Func<RuntimeEvent, bool> condition, string what)
    {
        RuntimeEvent? found = null;
        await Polling.UntilAsync(() => Task.FromResult((found = _events.FirstOrDefault(condition)) is not null), what, Bound,
            () => "events seen: " + string.Join("; ", _events), intervalMilliseconds: 100);
        return found!;
    }

    private static async Task<string> ReadLogTextAsync(IContainerRuntime runtime, string id, OutputStream? only)
    {
        using var bound = new CancellationTokenSource(Bound);
        var text = new StringBuilder();
        await foreach (var chunk in runtime.ReadLogsAsync(id, new LogReadOptions(false, null, null, false), bound.Token))
        {
            if (only is null || chunk.Stream == only)
            {
                text.Append(Encoding.UTF8.GetString(chunk.Bytes.Span));
            }
        }

        return text.ToString();
    }

    private static async Task<(string Output, int ExitCode)> ExecToEndAsync(IContainerRuntime runtime, string id, params string[] command)
    {
        using var bound = new CancellationTokenSource(Bound);
        await using var process = await runtime.ExecAsync(id, new ExecSpec(command, false, false, 0, 0, []), bound.Token);
        var output = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var (_, count) = await process.ReadAsync(buffer, bound.Token);
            if (count == 0)
            {
                break;
            }

            output.Append(Encoding.UTF8.GetString(buffer, 0, count));
        }

        int? exitCode = null;
        await Polling.UntilAsync(async () => (exitCode = (await process.InspectAsync(bound.Token)).ExitCode) is not null,
            "the exec's exit code", Bound, intervalMilliseconds: 100);
        return (output.ToString(), exitCode!.Value);
    }

    private static async Task<string> GetAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string? body = null;
        await Polling.UntilAsync(async () =>
        {
            try
            {
                body = await http.GetStringAsync($"http://127.0.0.1:{port}/");
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, $"GET http://127.0.0.1:{port}/ answers", Bound, intervalMilliseconds: 200);
        return body!;
    }

    private static readonly string[] Sleeper = ["sleep", "3600"];
    private static readonly string[] Httpd = ["httpd", "-f", "-p", "80", "-h", "/www"];

    [Test]
    public async Task A_created_and_started_container_runs_with_its_labels_and_is_listed_by_label()
    {
        var id = await RunAsync(Spec("run", Sleeper));
        var info = await Runtime.InspectAsync(id, CancellationToken.None);
        var listed = await Runtime.ListAsync(LabelKey, Prefix, CancellationToken.None);
        var started = await WaitForEventAsync(e => e.Kind == RuntimeEventKind.Started && e.ContainerId == id, "a Started event");
        Assert.Multiple(() =>
        {
            Assert.That(info, Is.Not.Null);
            Assert.That(info!.Running, Is.True);
            Assert.That(info.ExitCode, Is.Null);
            Assert.That(info.StartedAt, Is.Not.Null);
            Assert.That(info.Labels[LabelKey], Is.EqualTo(Prefix));
            Assert.That(info.Labels["contract.case"], Is.EqualTo("run"));
            Assert.That(listed.Select(c => c.Id), Is.EqualTo(new[] { id }));
            Assert.That(started.Labels[LabelKey], Is.EqualTo(Prefix));
        });
    }

    [Test]
    public async Task A_command_that_exits_with_3_reports_exit_code_3_and_a_Died_event()
    {
        var id = await RunAsync(Spec("exit3", ["sh", "-c", "exit 3"]));
        var exited = await WaitForExitAsync(id);
        var died = await WaitForEventAsync(e => e.Kind == RuntimeEventKind.Died && e.ContainerId == id, "a Died event");
        Assert.Multiple(() =>
        {
            Assert.That(exited.ExitCode, Is.EqualTo(3));
            Assert.That(exited.OomKilled, Is.False);
            Assert.That(exited.FinishedAt, Is.Not.Null);
            Assert.That(died.ExitCode, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task A_container_over_its_memory_limit_is_OOM_killed_with_an_OutOfMemory_event()
    {
        // The string doubles until the 8 MiB limit is hit (no swap beyond the limit on either runtime).
        var id = await RunAsync(Spec("oom", ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"], memoryMiB: 8));
        var exited = await WaitForExitAsync(id);
        var oom = await WaitForEventAsync(e => e.Kind == RuntimeEventKind.OutOfMemory && e.ContainerId == id, "an OutOfMemory event");
        Assert.Multiple(() =>
        {
            Assert.That(exited.OomKilled, Is.True, $"inspect: {exited}");
            Assert.That(exited.ExitCode, Is.EqualTo(137), "SIGKILL by the kernel");
            Assert.That(oom.Labels[LabelKey], Is.EqualTo(Prefix));
        });
    }

    [Test]
    public async Task Stop_sends_SIGTERM_to_a_process_that_honours_it_and_SIGKILL_at_the_timeout_to_one_that_ignores_it()
    {
        var normal = await RunAsync(Spec("stop-normal", Sleeper));
        var stubborn = await RunAsync(Spec("stop-stubborn", ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]));
        await WaitUntilAsync(stubborn, info => info.Running, "the stubborn one runs");

        // A long timeout: had SIGTERM not ended it, it would be killed (137) only after 30 s.
        await Runtime.StopAsync(normal, TimeSpan.FromSeconds(30), CancellationToken.None);
        var normalInfo = await WaitForExitAsync(normal);

        var timeout = TimeSpan.FromSeconds(2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Runtime.StopAsync(stubborn, timeout, CancellationToken.None);
        var stubbornInfo = await WaitForExitAsync(stubborn);
        var took = clock.Elapsed;

        // Stopping a stopped container is fine.
        await Runtime.StopAsync(normal, timeout, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(normalInfo.ExitCode, Is.EqualTo(143), "ended by SIGTERM, not killed at the timeout");
            Assert.That(stubbornInfo.ExitCode, Is.EqualTo(137), "killed by SIGKILL");
            Assert.That(took, Is.GreaterThanOrEqualTo(timeout - TimeSpan.FromMilliseconds(200)), "not killed before its timeout");
        });
    }

    [Test]
    public async Task A_passing_health_check_makes_the_container_Healthy_and_a_failing_one_Unhealthy_with_HealthChanged_events()
    {
        var passing = await RunAsync(Spec("healthy", Sleeper,
            health: new HealthCheckSpec(["CMD-SHELL", "test -f /www/index.html"], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), 2, TimeSpan.Zero)));
        var failing = await RunAsync(Spec("unhealthy", Sleeper,
            health: new HealthCheckSpec(["CMD-SHELL", "exit 1"], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), 2, TimeSpan.Zero)));

        var healthy = await WaitUntilAsync(passing, info => info.Health == ContainerHealth.Healthy, "the passing check makes it Healthy");
        var unhealthy = await WaitUntilAsync(failing, info => info.Health == ContainerHealth.Unhealthy, "the failing check makes it Unhealthy");
        var healthyEvent = await WaitForEventAsync(e => e.Kind == RuntimeEventKind.HealthChanged && e.ContainerId == passing && e.Health == ContainerHealth.Healthy, "HealthChanged to Healthy");
        var unhealthyEvent = await WaitForEventAsync(e => e.Kind == RuntimeEventKind.HealthChanged && e.ContainerId == failing && e.Health == ContainerHealth.Unhealthy, "HealthChanged to Unhealthy");
        Assert.Multiple(() =>
        {
            Assert.That(healthy.Running, Is.True);
            Assert.That(unhealthy.Running, Is.True, "an unhealthy container is reported, not stopped, by the runtime");
            Assert.That(healthyEvent.Labels[LabelKey], Is.EqualTo(Prefix));
            Assert.That(unhealthyEvent.Labels[LabelKey], Is.EqualTo(Prefix));
        });
    }

    [Test]
    public async Task A_published_port_is_reachable_on_127_0_0_1_and_inspect_shows_it()
    {
        var port = DaemonProcess.FreePort();
        var id = await RunAsync(Spec("web", Httpd, ports: [new PortSpec(80, port, false, "127.0.0.1")]));
        var body = await GetAsync(port);
        var info = await Runtime.InspectAsync(id, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(body.Trim(), Is.EqualTo("hello"));
            Assert.That(info!.Ports, Does.Contain(new PortSpec(80, port, false, "127.0.0.1")));
        });
    }

    [Test]
    public async Task Logs_hold_what_the_container_wrote_to_stdout_and_stderr_and_follow_sees_new_lines()
    {
        var id = await RunAsync(Spec("logs", ["sh", "-c", "echo to-stdout; echo to-stderr >&2; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo after-go; sleep 3600"]));
        var all = "";
        await Polling.UntilAsync(async () => (all = await ReadLogTextAsync(Runtime, id, null)).Contains("to-stderr", StringComparison.Ordinal),
            "both lines are in the logs", Bound, () => $"logs: {all}", intervalMilliseconds: 200);
        var stdout = await ReadLogTextAsync(Runtime, id, OutputStream.Stdout);
        var stderr = await ReadLogTextAsync(Runtime, id, OutputStream.Stderr);

        using var bound = new CancellationTokenSource(Bound);
        var followed = new StringBuilder();
        await using (var chunks = Runtime.ReadLogsAsync(id, new LogReadOptions(true, null, null, false), bound.Token).GetAsyncEnumerator(bound.Token))
        {
            while (!followed.ToString().Contains("to-stderr", StringComparison.Ordinal) && await chunks.MoveNextAsync())
            {
                followed.Append(Encoding.UTF8.GetString(chunks.Current.Bytes.Span));
            }

            var (_, touched) = await ExecToEndAsync(Runtime, id, "touch", "/tmp/go");
            Assert.That(touched, Is.Zero, "touch /tmp/go");
            while (!followed.ToString().Contains("after-go", StringComparison.Ordinal) && await chunks.MoveNextAsync())
            {
                followed.Append(Encoding.UTF8.GetString(chunks.Current.Bytes.Span));
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(all, Does.Contain("to-stdout\n").And.Contain("to-stderr\n"));
            if (SeparatesOutputStreams)
            {
                Assert.That(stdout, Does.Contain("to-stdout").And.Not.Contain("to-stderr"));
                Assert.That(stderr, Does.Contain("to-stderr").And.Not.Contain("to-stdout"));
            }

            Assert.That(followed.ToString(), Does.Contain("after-go\n"), "the line written while following");
        });
    }

    [Test]
    public async Task Exec_runs_a_command_in_the_container_with_its_output_and_exit_code()
    {
        var id = await RunAsync(Spec("exec", Sleeper));
        var (output, exitCode) = await ExecToEndAsync(Runtime, id, "sh", "-c", "echo from-exec $CONTRACT; exit 7");
        Assert.Multiple(() =>
        {
            Assert.That(output.Trim(), Is.EqualTo("from-exec yes"), "the container's environment");
            Assert.That(exitCode, Is.EqualTo(7));
        });
    }

    [Test]
    public async Task A_new_runtime_object_over_the_same_engine_adopts_the_running_container_without_restarting_it()
    {
        var port = DaemonProcess.FreePort();
        var id = await RunAsync(Spec("adopt", Httpd, ports: [new PortSpec(80, port, false, "127.0.0.1")]));
        var before = await WaitUntilAsync(id, info => info.Running, "it runs");
        await GetAsync(port);

        // As after an agent restart: nothing of the first object is used.
        var adopter = Track(NewRuntime());
        var listed = await adopter.ListAsync(LabelKey, Prefix, CancellationToken.None);
        var adopted = await adopter.InspectAsync(id, CancellationToken.None);
        var body = await GetAsync(port);
        await adopter.StopAsync(id, TimeSpan.FromSeconds(10), CancellationToken.None);
        var stopped = await adopter.InspectAsync(id, CancellationToken.None);
        await adopter.RemoveAsync(id, CancellationToken.None);
        var afterRemove = await adopter.ListAsync(LabelKey, Prefix, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Select(c => c.Id), Is.EqualTo(new[] { id }), "one container: no duplicate");
            Assert.That(listed.Single().Running, Is.True);
            Assert.That(adopted!.StartedAt, Is.EqualTo(before.StartedAt), "not restarted");
            Assert.That(adopted.Labels["contract.case"], Is.EqualTo("adopt"));
            Assert.That(adopted.Ports, Does.Contain(new PortSpec(80, port, false, "127.0.0.1")));
            Assert.That(body.Trim(), Is.EqualTo("hello"));
            Assert.That(stopped!.Running, Is.False);
            Assert.That(afterRemove, Is.Empty);
            Assert.That(EngineLeftovers(Prefix), Is.Empty);
        });
    }

    [Test]
    public async Task After_remove_the_engine_holds_nothing_of_the_container()
    {
        var port = DaemonProcess.FreePort();
        var running = await RunAsync(Spec("clean-running", Httpd, ports: [new PortSpec(80, port, false, "127.0.0.1")]));
        var exited = await RunAsync(Spec("clean-exited", ["sh", "-c", "exit 0"]));
        var created = await Runtime.CreateAsync(Spec("clean-created", Sleeper), CancellationToken.None);
        await WaitForExitAsync(exited);
        await GetAsync(port);
        var whileThere = EngineLeftovers(Prefix);

        foreach (var id in new[] { running, exited, created })
        {
            await Runtime.RemoveAsync(id, CancellationToken.None);
        }

        // Removing a missing one is fine.
        await Runtime.RemoveAsync(created, CancellationToken.None);
        var gone = await Runtime.InspectAsync(running, CancellationToken.None);
        var listed = await Runtime.ListAsync(LabelKey, Prefix, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(whileThere, Is.Not.Empty, "the listing sees the test's containers while they exist");
            Assert.That(gone, Is.Null);
            Assert.That(listed, Is.Empty);
            Assert.That(EngineLeftovers(Prefix), Is.Empty);
        });
    }

    [Test]
    public void A_missing_image_fails_with_ImagePullException_naming_the_reference()
    {
        // A registry on a closed loopback port: the pull fails at once and sends nothing off this machine.
        const string missing = "127.0.0.1:9/orchestrator-test/missing:1";
        var failure = Assert.ThrowsAsync<ImagePullException>(() => Runtime.EnsureImageAsync(missing, CancellationToken.None));
        Assert.That(failure!.Message, Does.StartWith("CannotPullContainerError: ").And.Contain(missing));
    }

    [Test]
    public async Task A_host_port_already_taken_fails_with_ContainerOperationException_naming_the_port_and_leaves_nothing_running()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var failure = Assert.ThrowsAsync<ContainerOperationException>(() => RunAsync(Spec("port-taken", Httpd, ports: [new PortSpec(80, port, false, "127.0.0.1")])));
        var listed = await Runtime.ListAsync(LabelKey, Prefix, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(failure!.Message, Does.Contain(port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(listed.Where(c => c.Running), Is.Empty);
        });
    }
}
