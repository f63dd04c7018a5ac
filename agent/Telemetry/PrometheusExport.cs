using System.Net;
using Prometheus;

namespace Orchestrator.Agent.Telemetry;

/// <summary>
/// Serves the agent's meter as Prometheus text at <c>/metrics</c>, over HTTP/1.1 on a port of its own
/// (prometheus-net's stand-alone HttpListener server: the agent has no web host). The meter is
/// exported through the library's MeterAdapter into a registry of its own, so only the agent's
/// instruments are listened to; the observable gauges are read at each scrape.
/// </summary>
internal sealed class PrometheusExport : IDisposable
{
    // From 0.5 ms to about 16 s: an inspect and a stop (SIGTERM, its grace, SIGKILL) both fall inside.
    private static readonly double[] SecondsBuckets = Histogram.ExponentialBuckets(0.0005, 2, 16);

    private readonly IDisposable _adapter;
    private readonly IMetricServer _server;

    static PrometheusExport()
    {
        // Nothing of ours uses the library's global registry; this keeps it from ever listening to every
        // meter and event counter of the process should something collect it.
        Metrics.SuppressDefaultMetrics();
    }

    /// <summary>Starts serving; throws <see cref="HttpListenerException"/> when the address cannot be listened on.</summary>
    public PrometheusExport(System.Diagnostics.Metrics.Meter meter, IPEndPoint endpoint)
    {
        var registry = Metrics.NewCustomRegistry();
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = registry,
            // The adapter creates its metrics through this factory (its default is the global registry's).
            MetricFactory = Metrics.WithCustomRegistry(registry),
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter, meter),
            ResolveHistogramBuckets = _ => SecondsBuckets,

            // The adapter drops a histogram or counter series not updated for this long (gauges are
            // read at every scrape, so never): the longest it allows, so a quiet series stays a day.
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });

        // HttpListener's prefixes name a host: "+" is every address, an IPv6 one goes in brackets.
        var host = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any) ? "+"
            : endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]"
            : endpoint.Address.ToString();
        _server = new MetricServer(host, endpoint.Port, "metrics/", registry);
        try
        {
            _server.Start();
        }
        catch
        {
            _adapter.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _server.Dispose();
        _adapter.Dispose();
    }
}
