using System.Diagnostics.Metrics;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Telemetry;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests;

/// <summary>The one place Docker calls are timed: each call recorded once, by operation and outcome, its result or error unchanged.</summary>
internal sealed class MeteredRuntimeTests
{
    private sealed class Recorded : IDisposable
    {
        private readonly MeterListener _listener = new();

        public Recorded(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            {
                var labels = tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString());
                Calls.Add((instrument.Name, labels["operation"]!, labels["outcome"]!, value));
            });
            _listener.Start();
        }

        public List<(string Instrument, string Operation, string Outcome, double Seconds)> Calls { get; } = [];

        public void Dispose() => _listener.Dispose();
    }

    [Test]
    public async Task A_call_that_answers_is_recorded_once_as_ok_with_its_result_passed_through()
    {
        using var meter = new AgentMeter();
        using var recorded = new Recorded(meter.Meter);
        var runtime = new MeteredRuntime(new FakeRuntime(), meter);

        var info = await runtime.InspectAsync("no-such-container", CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(info, Is.Null);
            Assert.That(recorded.Calls.Select(c => (c.Instrument, c.Operation, c.Outcome)), Is.EqualTo(new[] { ("docker_call_duration_seconds", "inspect", "ok") }));
            Assert.That(recorded.Calls.Single().Seconds, Is.GreaterThanOrEqualTo(0));
        });
    }

    [Test]
    public void A_call_that_fails_is_recorded_as_an_error_and_its_exception_reaches_the_caller()
    {
        using var meter = new AgentMeter();
        using var recorded = new Recorded(meter.Meter);
        var runtime = new MeteredRuntime(new FakeRuntime { Down = new RuntimeUnavailableException("engine gone") }, meter);

        var error = Assert.ThrowsAsync<RuntimeUnavailableException>(async () => await runtime.RemoveAsync("c1", CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Is.EqualTo("engine gone"));
            Assert.That(recorded.Calls.Select(c => (c.Operation, c.Outcome)), Is.EqualTo(new[] { ("remove", "error") }));
        });
    }

    [Test]
    public async Task An_exec_is_timed_until_its_process_has_started_and_a_log_stream_passes_through_untimed()
    {
        using var meter = new AgentMeter();
        using var recorded = new Recorded(meter.Meter);
        var fake = new FakeRuntime();
        var labels = new Dictionary<string, string> { [ContainerLabels.TaskId] = "t", [ContainerLabels.Container] = "web" };
        fake.Seed("c1", new ContainerSpec("c1", "busybox", [], [], [], 0, 0, 0, [], null, 10, labels), running: true);
        fake.LogsOf("c1").Writer.TryWrite(new OutputChunk(OutputStream.Stdout, "line\n"u8.ToArray()));
        fake.LogsOf("c1").Writer.Complete();
        var runtime = new MeteredRuntime(fake, meter);

        await using var process = await runtime.ExecAsync("c1", new ExecSpec(["true"], false, false, 0, 0, []), CancellationToken.None);
        var chunks = 0;
        await foreach (var _ in runtime.ReadLogsAsync("c1", new LogReadOptions(false, null, null, false), CancellationToken.None))
        {
            chunks++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(chunks, Is.EqualTo(1));
            Assert.That(recorded.Calls.Select(c => (c.Operation, c.Outcome)), Is.EqualTo(new[] { ("exec", "ok") }));
        });
    }
}
