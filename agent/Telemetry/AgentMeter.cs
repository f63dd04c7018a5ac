using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orchestrator.Agent.Telemetry;

/// <summary>
/// The agent's meter and the instruments its paths record into; the meter's name is every metric's
/// prefix, and names carry their unit. The gauges are in <see cref="AgentGauges"/>.
/// </summary>
internal sealed class AgentMeter : IDisposable
{
    public const string Name = "orchestrator_agent";

    private readonly Histogram<double> _dockerCall;
    private readonly Counter<long> _reconnects;

    public AgentMeter()
    {
        Meter = new Meter(Name);
        _dockerCall = Meter.CreateHistogram<double>("docker_call_duration_seconds", "s",
            "Time of each call to the Docker engine, by operation (create, start, stop, inspect...) and outcome (ok, error).");
        _reconnects = Meter.CreateCounter<long>("reconnects_total", "{reconnect}", "Times the agent lost its scheduler stream (or could not open it) and tried again.");
    }

    public Meter Meter { get; }

    public void DockerCalled(string operation, long started, bool ok) =>
        _dockerCall.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("outcome", ok ? "ok" : "error"));

    public void Reconnecting() => _reconnects.Add(1);

    public void Dispose() => Meter.Dispose();
}
