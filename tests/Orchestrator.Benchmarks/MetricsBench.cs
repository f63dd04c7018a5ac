using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>
/// What Prometheus metrics cost the scheduler: the RunTask benchmark (cleartext, where a call costs
/// least and an overhead shows most) with metrics off (Scheduler:MetricsListen empty: no listener on
/// the meter, so its instruments record nothing) against metrics on and scraped every second (fifteen
/// times as often as Prometheus's default), in the same run. Runs alternate off/on and on/off, so the
/// machine's drift and the order do not favour one side; the medians are compared. The target is an
/// overhead under 3 %.
/// </summary>
internal static class MetricsBench
{
    private static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(1);

    public static async Task RunAsync(Report report, int agents, int calls, int concurrency, int rounds)
    {
        var off = new List<RunTaskBench.Run>();
        var on = new List<RunTaskBench.Run>();
        var scrapes = new List<Scrapes>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var metrics in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                if (metrics)
                {
                    var scraped = new Scrapes();
                    on.Add(await RunTaskBench.OnceAsync(secure: false, agents, calls, concurrency, (scheduler, stop) => ScrapeAsync(scheduler, scraped, stop)));
                    scrapes.Add(scraped);
                }
                else
                {
                    off.Add(await RunTaskBench.OnceAsync(secure: false, agents, calls, concurrency, settings: ["--Scheduler:MetricsListen="]));
                }

                Console.Error.WriteLine($"metrics: round {round + 1} of {rounds}, metrics {(metrics ? "on" : "off")} done");
            }
        }

        var throughputOff = Median(off, r => r.RunTask.PerSecond);
        var throughputOn = Median(on, r => r.RunTask.PerSecond);
        var cpuOff = Median(off, r => r.RunTask.SchedulerCpuMs);
        var cpuOn = Median(on, r => r.RunTask.SchedulerCpuMs);
        report.Add("metrics", $"RunTask with metrics on and scraped every {ScrapeInterval.TotalSeconds:F0} s, cleartext, {agents} agents, {concurrency} callers, {calls:N0} calls, median of {rounds}",
            $"{throughputOn:N0} tasks/s ({throughputOn / throughputOff - 1:+0.0%;-0.0%} against off), p99 {Median(on, r => r.RunTask.P99):F2} ms, scheduler CPU {cpuOn:F3} ms per task ({cpuOn / cpuOff - 1:+0.0%;-0.0%})",
            $"metrics off: {throughputOff:N0} tasks/s, p99 {Median(off, r => r.RunTask.P99):F2} ms, scheduler CPU {cpuOff:F3} ms per task; each run's tasks/s off {string.Join(" ", off.Select(r => r.RunTask.PerSecond.ToString("N0")))}, on {string.Join(" ", on.Select(r => r.RunTask.PerSecond.ToString("N0")))}");
        var scrape = scrapes.SelectMany(s => s.Milliseconds).Order().ToList();
        report.Add("metrics", "one scrape of /metrics during the RunTask load",
            scrape.Count == 0 ? "no scrape answered" : $"median {scrape[scrape.Count / 2]:F1} ms, max {scrape[^1]:F1} ms, {scrape.Count} scrapes, {scrapes.Max(s => s.Bytes):N0} bytes",
            $"placements counted by the last scrapes: {string.Join(" ", scrapes.Select(s => s.PlacedAtLast.ToString("N0")))} (each run places its warm-up and measured calls)");
    }

    private static double Median(List<RunTaskBench.Run> runs, Func<RunTaskBench.Run, double> value)
    {
        var values = runs.Select(value).Order().ToList();
        return values[values.Count / 2];
    }

    private sealed class Scrapes
    {
        public List<double> Milliseconds { get; } = [];
        public int Bytes { get; set; }
        public double PlacedAtLast { get; set; }
    }

    /// <summary>Scrapes as Prometheus does, parsing each answer (so a broken export fails the run).</summary>
    private static async Task ScrapeAsync(BenchScheduler scheduler, Scrapes scrapes, CancellationToken stop)
    {
        using var client = new HttpClient();
        var address = $"http://127.0.0.1:{scheduler.MetricsPort}/metrics";
        try
        {
            // Bounded by the run it scrapes, and by count: at most an hour of scrapes.
            for (var i = 0; i < 3600 && !stop.IsCancellationRequested; i++)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var text = await client.GetStringAsync(address, stop);
                scrapes.Milliseconds.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                scrapes.Bytes = Math.Max(scrapes.Bytes, text.Length);
                scrapes.PlacedAtLast = PrometheusText.Parse(text).ValueOrZero("orchestrator_placements_total", ("result", "placed"));
                await Task.Delay(ScrapeInterval, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
