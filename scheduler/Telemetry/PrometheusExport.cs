using Prometheus;

namespace Orchestrator.Scheduler.Telemetry;

/// <summary>
/// Exports one meter's instruments as Prometheus text through prometheus-net's MeterAdapter, into a
/// registry of its own: only this daemon's meter is listened to (not ASP.NET Core's, nor another
/// scheduler's in the same test process), and the observable gauges are read at each scrape.
/// </summary>
internal sealed class PrometheusExport : IDisposable
{
    // From 0.5 ms to about 16 s: a RunTask, a placement and a store flush all fall well inside.
    private static readonly double[] SecondsBuckets = Histogram.ExponentialBuckets(0.0005, 2, 16);

    // Group sizes: 1 to 4096 commits per flush.
    private static readonly double[] CountBuckets = Histogram.ExponentialBuckets(1, 2, 13);

    private readonly IDisposable _adapter;

    static PrometheusExport()
    {
        // Nothing of ours uses the library's global registry; this keeps it from ever listening to every
        // meter and event counter of the process should something collect it.
        Metrics.SuppressDefaultMetrics();
    }

    public PrometheusExport(System.Diagnostics.Metrics.Meter meter)
    {
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            // The adapter creates its metrics through this factory (its default is the global registry's).
            MetricFactory = Metrics.WithCustomRegistry(Registry),
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter, meter),
            ResolveHistogramBuckets = instrument => instrument.Unit == "s" ? SecondsBuckets : CountBuckets,

            // The adapter drops a histogram or counter series not updated for this long (gauges are
            // read at every scrape, so never): the longest it allows, so a quiet series stays a day.
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public void Dispose() => _adapter.Dispose();
}
