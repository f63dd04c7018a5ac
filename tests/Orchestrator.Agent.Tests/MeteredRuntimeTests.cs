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
}
