namespace Orchestrator.Tests.Shared;

/// <summary>
/// The HTTP target of the load-balancing benchmark and tests, for the busybox test image
/// (orchestrator-test/busybox: busybox-static's applets, no other files but /www/index.html): httpd on
/// port 8080 answering every GET with the container's hostname, which Docker sets to the first 12
/// characters of the container id, so each answer names the container that served it.
/// </summary>
internal static class RollingTarget
{
    public const int ContainerPort = 8080;

    public static readonly string[] Command =
        ["sh", "-c", "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"];

    /// <summary>The container health check's command (the image has wget).</summary>
    public const string HealthCommand = "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1";

    /// <summary>The body a container with this id answers: its hostname.</summary>
    public static string BackendOf(string containerId) => containerId.Length > 12 ? containerId[..12] : containerId;
}

/// <summary>When one backend (container) of a rolling deployment started, and when its orchestrator had it RUNNING and healthy.</summary>
/// <param name="Backend">The body it answers (<see cref="RollingTarget.BackendOf"/>).</param>
internal sealed record BackendTimes(string Backend, DateTime StartedUtc, DateTime? ReadyUtc);

/// <summary>
/// What a rolling deployment cost the steady client: every request and the failures (target: none), those
/// sent while the deployment ran, and for each new backend the time from its container's start and from
/// its being RUNNING and healthy to the first request it answered (when that answer came: a request can be
/// sent before, held in a listen backlog and answered once the backend serves), so a balancer that
/// registers late, or early, shows.
/// </summary>
/// <param name="FailureSpan">From the first failed request's send to the last one's (zero for one or none): how long clients saw errors.</param>
internal sealed record RollingFigures(
    SteadyHttpSummary All,
    SteadyHttpSummary DuringUpdate,
    IReadOnlyList<TimeSpan> StartToFirstRequest,
    IReadOnlyList<TimeSpan> ReadyToFirstRequest,
    IReadOnlyList<string> NeverServed,
    TimeSpan FailureSpan)
{
    /// <param name="results">The client's results.</param>
    /// <param name="clientStartUtc">The wall-clock time of the client's start (SentAt is counted from it).</param>
    /// <param name="updateStartUtc">When the deployment was asked for.</param>
    /// <param name="updateEndUtc">When it had converged.</param>
    /// <param name="newBackends">The backends the deployment started.</param>
    /// <summary>Tells a half's figures and its first failures on standard error (the bench's diagnostics; the table is on stdout).</summary>
    /// <param name="half">"ours" or "Swarm".</param>
    public void Describe(string half, IReadOnlyList<SteadyHttpResult> results)
    {
        var backends = string.Join(", ", All.Backends.Select(b => $"{b.Key} {b.Value}"));
        Console.Error.WriteLine($"lb-rolling: {half}: {All}; during the update: {DuringUpdate}; answered by {backends}");
        foreach (var failure in results.Where(r => !r.Ok).Take(10))
        {
            Console.Error.WriteLine($"lb-rolling: {half}: request {failure.Index} at {failure.SentAt.TotalSeconds:F2} s: {failure.Error} after {failure.Latency.TotalMilliseconds:F0} ms");
        }
    }

    public static RollingFigures Of(
        IReadOnlyList<SteadyHttpResult> results, DateTime clientStartUtc, DateTime updateStartUtc, DateTime updateEndUtc, IEnumerable<BackendTimes> newBackends)
    {
        var during = results.Where(r => clientStartUtc + r.SentAt >= updateStartUtc && clientStartUtc + r.SentAt <= updateEndUtc);
        var firstByBackend = results.Where(r => r.Ok && r.Body is not null)
            .GroupBy(r => r.Body!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => clientStartUtc + g.Min(r => r.SentAt + r.Latency), StringComparer.Ordinal);
        var fromStart = new List<TimeSpan>();
        var fromReady = new List<TimeSpan>();
        var never = new List<string>();
        foreach (var backend in newBackends.OrderBy(b => b.StartedUtc))
        {
            if (!firstByBackend.TryGetValue(backend.Backend, out var first))
            {
                never.Add(backend.Backend);
                continue;
            }

            fromStart.Add(first - backend.StartedUtc);
            if (backend.ReadyUtc is { } ready)
            {
                fromReady.Add(first - ready);
            }
        }

        var failed = results.Where(r => !r.Ok).Select(r => r.SentAt).ToList();
        var span = failed.Count == 0 ? TimeSpan.Zero : failed.Max() - failed.Min();
        return new RollingFigures(SteadyHttpSummary.Of(results), SteadyHttpSummary.Of(during), fromStart, fromReady, never, span);
    }

    /// <summary>"min a, median b, max c ms (n)" of a list of times, or "none".</summary>
    public static string Spread(IReadOnlyList<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            return "none";
        }

        var sorted = values.Order().ToList();
        return $"min {sorted[0].TotalMilliseconds:F0} ms, median {sorted[(sorted.Count - 1) / 2].TotalMilliseconds:F0} ms, max {sorted[^1].TotalMilliseconds:F0} ms (n={sorted.Count})";
    }
}
