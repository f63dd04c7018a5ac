using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Probes;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Probes;

/// <summary>
/// Health checks the agent runs for containerd, over the fake runtime with containerd's capabilities and a
/// fake clock: every probe is an exec the test ends with an exit code (or leaves hanging).
/// </summary>
internal sealed class ProbedRuntimeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
    private const string Node = "node-1";

    private FakeRuntime _fake = null!;
    private ProbeClock _clock = null!;
    private ProbedRuntime _runtime = null!;
    private CancellationTokenSource _end = null!;
    private IAsyncEnumerator<RuntimeEvent> _events = null!;
    private Task<bool> _next = null!;

    /// <summary>Exit codes of the next probes, in order; null: it hangs. Probes beyond the script hang too.</summary>
    private readonly Queue<int?> _script = new();

    /// <summary>The interval timer of the next probe was already seen (waiting for a result to be applied sees it).</summary>
    private bool _intervalArmed;

    [SetUp]
    public void SetUp()
    {
        _script.Clear();
        _intervalArmed = false;
        _fake = new FakeRuntime { Capabilities = RuntimeCapabilities.OfContainerd };
        _fake.OnExec = (_, process) =>
        {
            lock (_script)
            {
                if (_script.TryDequeue(out var code) && code is { } exit)
                {
                    process.Exit(exit);
                }
            }
        };
        _clock = new ProbeClock();
        _runtime = new ProbedRuntime(_fake, _clock);
        _end = new CancellationTokenSource();

        // Subscribed before anything happens: the subscription is made by the first MoveNextAsync.
        _events = _runtime.EventsAsync(ContainerLabels.Node, Node, _end.Token).GetAsyncEnumerator(_end.Token);
        _next = _events.MoveNextAsync().AsTask();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _end.CancelAsync();
        try
        {
            await _next;
        }
        catch (OperationCanceledException)
        {
        }

        await _events.DisposeAsync();

        _runtime.Dispose();
        _end.Dispose();
    }

    private static HealthCheckSpec Check(int retries = 3, TimeSpan startPeriod = default, params string[] test) =>
        new(test.Length > 0 ? test : ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"], Interval, ProbeTimeout, retries, startPeriod);

    private static Dictionary<string, string> Labels(string container) =>
        new() { [ContainerLabels.TaskId] = "task-1", [ContainerLabels.Container] = container, [ContainerLabels.Node] = Node };

    private static ContainerSpec Spec(string container, HealthCheckSpec? check) =>
        new(container, "busybox", [], [], [], 0, 0, 0, [], check, 10, Labels(container));

    private async Task<string> StartedAsync(HealthCheckSpec? check, string container = "web")
    {
        var id = await _runtime.CreateAsync(Spec(container, check), CancellationToken.None);
        await _runtime.StartAsync(id, CancellationToken.None);
        return id;
    }

    /// <summary>Lets one interval pass and returns the probe that starts then.</summary>
    private async Task<FakeExecProcess> ProbeAsync(params int?[] exits)
    {
        lock (_script)
        {
            foreach (var exit in exits)
            {
                _script.Enqueue(exit);
            }
        }

        if (!_intervalArmed)
        {
            await _clock.TimerAsync(Interval);
        }

        _intervalArmed = false;
        _clock.Advance(Interval);
        return await _fake.NextExecAsync(Bound);
    }

    /// <summary>Waits until the last probe's result has been applied: the monitor waits for the next interval.</summary>
    private async Task SettledAsync()
    {
        await _clock.TimerAsync(Interval);
        _intervalArmed = true;
    }

    /// <summary>Probes with these exit codes, one after the other, each result applied.</summary>
    private async Task ProbesAsync(params int[] exits)
    {
        foreach (var exit in exits)
        {
            await ProbeAsync(exit);
            await SettledAsync();
        }
    }

    /// <summary>The health events seen until now: a marker sent through the runtime's own stream comes after all of them.</summary>
    private async Task<List<(string Id, ContainerHealth Health)>> HealthEventsAsync()
    {
        var marker = new RuntimeEvent(RuntimeEventKind.Started, "marker", Labels("marker"), null, ContainerHealth.None);
        await EventuallyAsync(() => _fake.EventSubscriptions >= 1);
        _fake.Send(marker);
        var seen = new List<(string, ContainerHealth)>();
        while (await _next.WaitAsync(Bound))
        {
            var current = _events.Current;
            _next = _events.MoveNextAsync().AsTask();
            if (current == marker)
            {
                return seen;
            }

            if (current.Kind == RuntimeEventKind.HealthChanged)
            {
                Assert.That(current.Labels[ContainerLabels.Container], Is.Not.Empty);
                seen.Add((current.ContainerId, current.Health));
            }
        }

        throw new AssertionException("the event stream ended");
    }

    private async Task<ContainerHealth> HealthAsync(string id) => (await _runtime.InspectAsync(id, CancellationToken.None))!.Health;

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, bound.Token);
        }
    }

    [Test]
    public async Task The_check_is_kept_on_the_container_as_a_label_and_probes_run_its_command_by_exec()
    {
        var check = Check();
        var id = await StartedAsync(check);

        var probe = await ProbeAsync(0);

        Assert.Multiple(() =>
        {
            var labels = _fake.Containers.Single().Spec.Labels;
            Assert.That(HealthCheckLabel.Read(labels)!.Test, Is.EqualTo(check.Test));
            Assert.That(labels[ContainerLabels.Container], Is.EqualTo("web"));
            Assert.That(probe.Spec.Command, Is.EqualTo(new[] { "/bin/sh", "-c", "wget -q -O- http://127.0.0.1/" }));
            Assert.That(probe.Spec.Tty, Is.False);
        });
        await SettledAsync();
        Assert.That(probe.Disposed, Is.True);
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Healthy));
    }

    [Test]
    public async Task A_container_is_starting_until_its_first_probe_and_healthy_after_one_success_with_one_event()
    {
        var id = await StartedAsync(Check());
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Starting));

        await ProbesAsync(0, 0, 0);

        Assert.That(await HealthEventsAsync(), Is.EqualTo(new[] { (id, ContainerHealth.Healthy) }));
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Healthy));
        Assert.That((await _runtime.ListAsync(ContainerLabels.Node, Node, CancellationToken.None)).Single().Health, Is.EqualTo(ContainerHealth.Healthy));
    }

    [Test]
    public async Task Retries_failures_in_a_row_make_it_unhealthy_and_one_success_makes_it_healthy_again()
    {
        var id = await StartedAsync(Check(retries: 3));

        await ProbesAsync(0, 1, 1);
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Healthy), "two failures of three");
        await ProbesAsync(0, 1, 1);
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Healthy), "a success in between starts the count again");
        await ProbesAsync(2);
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Unhealthy), "any exit code but 0 is a failure");
        await ProbesAsync(1, 0);

        Assert.That(await HealthEventsAsync(), Is.EqualTo(new[]
        {
            (id, ContainerHealth.Healthy),
            (id, ContainerHealth.Unhealthy),
            (id, ContainerHealth.Healthy),
        }));
    }

    [Test]
    public async Task Failures_within_the_start_period_do_not_count_and_those_after_it_do()
    {
        var id = await StartedAsync(Check(retries: 1, startPeriod: TimeSpan.FromSeconds(60)));

        await ProbesAsync(1);
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Starting), "the probe at 30 s is within the start period");
        await ProbesAsync(1);

        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Unhealthy), "the probe at 60 s is not");
        Assert.That(await HealthEventsAsync(), Is.EqualTo(new[] { (id, ContainerHealth.Unhealthy) }));
    }

    [Test]
    public async Task A_probe_over_its_timeout_is_killed_and_counts_as_a_failure()
    {
        var id = await StartedAsync(Check(retries: 1));

        var hung = await ProbeAsync([null]);
        await _clock.TimerAsync(ProbeTimeout);
        _clock.Advance(ProbeTimeout);
        await SettledAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(hung.Killed, Is.True);
            Assert.That(hung.Disposed, Is.True);
            Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Unhealthy));
        });
    }

    [Test]
    public async Task A_probe_within_its_timeout_is_not_killed()
    {
        var id = await StartedAsync(Check(retries: 1));

        var hung = await ProbeAsync([null]);
        await _clock.TimerAsync(ProbeTimeout);
        _clock.Advance(ProbeTimeout - TimeSpan.FromSeconds(1));
        hung.Exit(0);
        await SettledAsync();

        Assert.That(hung.Killed, Is.False);
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Healthy));
    }

    [Test]
    public async Task The_next_probe_starts_one_interval_after_the_previous_one_ended_as_Docker_does()
    {
        await StartedAsync(Check());
        var started = _clock.GetUtcNow();

        var slow = await ProbeAsync([null]);
        await _clock.TimerAsync(ProbeTimeout);
        _clock.Advance(TimeSpan.FromSeconds(4));
        slow.Exit(0);
        await ProbeAsync(0);

        Assert.That(_clock.GetUtcNow() - started, Is.EqualTo(Interval + TimeSpan.FromSeconds(4) + Interval));
    }

    [Test]
    public async Task Stopping_a_container_ends_its_probing_and_keeps_its_last_status()
    {
        var id = await StartedAsync(Check());
        await ProbesAsync(0);

        await _runtime.StopAsync(id, TimeSpan.FromSeconds(10), CancellationToken.None);
        _clock.Advance(Interval * 3);

        Assert.That(_runtime.Probing, Is.Zero);
        Assert.That(_fake.Execs, Has.Count.EqualTo(1));
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Healthy));
    }

    [Test]
    public async Task Removing_a_container_ends_its_probing()
    {
        var id = await StartedAsync(Check());

        await _runtime.RemoveAsync(id, CancellationToken.None);

        Assert.That(_runtime.Probing, Is.Zero);
        Assert.That(await _runtime.InspectAsync(id, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task A_death_in_the_runtime_events_ends_its_probing()
    {
        var id = await StartedAsync(Check());

        await EventuallyAsync(() => _fake.EventSubscriptions >= 1);
        _fake.Send(_fake.Die(id, 1));

        await EventuallyAsync(() => _runtime.Probing == 0);
        Assert.That(await HealthEventsAsync(), Is.Empty);
    }

    [Test]
    public async Task A_probe_refused_because_the_container_stopped_ends_the_probing_with_no_change()
    {
        var id = await StartedAsync(Check(retries: 1));
        _fake.Die(id, 137);

        await _clock.TimerAsync(Interval);
        _clock.Advance(Interval);

        await EventuallyAsync(() => _runtime.Probing == 0);
        Assert.That(await HealthEventsAsync(), Is.Empty);
    }

    [Test]
    public async Task A_container_removed_behind_the_agent_s_back_is_no_longer_probed()
    {
        var id = await StartedAsync(Check(retries: 1));
        await _fake.RemoveAsync(id, CancellationToken.None);

        await _clock.TimerAsync(Interval);
        _clock.Advance(Interval);

        await EventuallyAsync(() => _runtime.Probing == 0);
        Assert.That(await HealthEventsAsync(), Is.Empty);
    }

    [Test]
    public async Task A_restart_goes_back_to_starting_without_an_event_and_probes_again()
    {
        var id = await StartedAsync(Check());
        await ProbesAsync(0);

        await _runtime.StartAsync(id, CancellationToken.None);
        Assert.That(await HealthAsync(id), Is.EqualTo(ContainerHealth.Starting));
        _intervalArmed = false;
        await ProbesAsync(0);

        Assert.That(await HealthEventsAsync(), Is.EqualTo(new[] { (id, ContainerHealth.Healthy), (id, ContainerHealth.Healthy) }));
    }

    [Test]
    public async Task A_running_container_found_after_an_agent_restart_is_probed_again_from_starting()
    {
        var check = Check();
        var labels = Labels("adopted");
        labels[HealthCheckLabel.Key] = HealthCheckLabel.Write(check);
        _fake.Seed("c-old", Spec("adopted", check) with { Labels = labels }, running: true);
        _fake.Seed("c-stopped", Spec("stopped", check) with { Labels = new Dictionary<string, string>(labels) { [ContainerLabels.Container] = "stopped" } }, running: false, exitCode: 0);

        var listed = await _runtime.ListAsync(ContainerLabels.Node, Node, CancellationToken.None);

        Assert.That(listed.Single(c => c.Id == "c-old").Health, Is.EqualTo(ContainerHealth.Starting));
        Assert.That(_runtime.Probing, Is.EqualTo(1), "the stopped one is not probed");
        await ProbesAsync(0);
        await _runtime.ListAsync(ContainerLabels.Node, Node, CancellationToken.None);

        Assert.That(await HealthEventsAsync(), Is.EqualTo(new[] { ("c-old", ContainerHealth.Healthy) }));
        Assert.That(_runtime.Probing, Is.EqualTo(1), "listed again, it is not probed twice");
        Assert.That(_fake.Execs.Single().Spec.Command, Is.EqualTo(HealthState.CommandOf(check.Test)));
    }

    [Test]
    public async Task A_container_started_again_by_a_new_agent_is_probed_from_its_label()
    {
        var check = Check();
        var labels = Labels("web");
        labels[HealthCheckLabel.Key] = HealthCheckLabel.Write(check);
        _fake.Seed("c-created", Spec("web", check) with { Labels = labels }, running: false);

        await _runtime.StartAsync("c-created", CancellationToken.None);

        Assert.That(_runtime.Probing, Is.EqualTo(1));
        Assert.That(await HealthAsync("c-created"), Is.EqualTo(ContainerHealth.Starting));
    }

    [Test]
    public async Task A_container_without_a_check_or_with_none_is_not_probed_and_has_no_health()
    {
        var plain = await StartedAsync(null, "plain");
        var none = await StartedAsync(Check(3, default, "NONE"), "none");

        Assert.Multiple(async () =>
        {
            Assert.That(_runtime.Probing, Is.Zero);
            Assert.That(_fake.Containers.Single(c => c.Id == plain).Spec.Labels.ContainsKey(HealthCheckLabel.Key), Is.False);
            Assert.That(await HealthAsync(none), Is.EqualTo(ContainerHealth.None));
        });
    }

    [Test]
    public async Task Health_events_go_only_to_subscriptions_whose_label_the_container_carries()
    {
        using var other = new CancellationTokenSource();
        await using var elsewhere = _runtime.EventsAsync(ContainerLabels.Node, "node-2", other.Token).GetAsyncEnumerator(other.Token);
        var next = elsewhere.MoveNextAsync();
        await EventuallyAsync(() => _fake.EventSubscriptions >= 2);
        var id = await StartedAsync(Check());

        await ProbesAsync(0);

        Assert.That(await HealthEventsAsync(), Is.EqualTo(new[] { (id, ContainerHealth.Healthy) }));
        Assert.That(next.IsCompleted, Is.False);
        await other.CancelAsync();
        Assert.That(async () => await next, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task A_failure_of_the_runtime_event_stream_ends_the_merged_stream_with_it()
    {
        await EventuallyAsync(() => _fake.EventSubscriptions >= 1);
        _fake.EventStreamFailures.Enqueue(new RuntimeUnavailableException("containerd is not reachable"));

        var stream = _runtime.EventsAsync(ContainerLabels.Node, Node, CancellationToken.None);

        Assert.That(async () => { await foreach (var _ in stream) { } }, Throws.InstanceOf<RuntimeUnavailableException>().With.Message.EqualTo("containerd is not reachable"));
    }

    /// <summary>A fake clock that tells when a timer is made, so a test advances it only once the prober waits on it.</summary>
    private sealed class ProbeClock : FakeTimeProvider
    {
        private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _timers.Writer.TryWrite(dueTime);
            return timer;
        }

        /// <summary>Waits until a timer of <paramref name="due"/> is made (those of other durations made meanwhile are passed over).</summary>
        public async Task TimerAsync(TimeSpan due)
        {
            using var bound = new CancellationTokenSource(Bound);
            while (await _timers.Reader.ReadAsync(bound.Token) != due)
            {
            }
        }
    }
}
