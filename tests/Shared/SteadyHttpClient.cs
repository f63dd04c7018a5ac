using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Tests.Shared;

/// <summary>What one request of a <see cref="SteadyHttpClient"/> came to.</summary>
/// <param name="Index">Its place in the schedule (0, 1, ...): request i is due at i / rate after the start.</param>
/// <param name="SentAt">When it was sent, from the client's start.</param>
/// <param name="Latency">From sending to the whole body read, or to the failure.</param>
/// <param name="Status">The HTTP status when a response came, else null.</param>
/// <param name="Error">Null for a 2xx answer; else its cause: "timeout", "http 503", a socket error ("ConnectionRefused", "ConnectionReset"), an HttpRequestError ("ResponseEnded") or the exception's type.</param>
/// <param name="Body">The response body, trimmed and cut at 200 characters (the backend that answered, for a target that names itself).</param>
internal sealed record SteadyHttpResult(int Index, TimeSpan SentAt, TimeSpan Latency, int? Status, string? Error, string? Body)
{
    public bool Ok => Error is null;
}

/// <summary>The figures of a run: counts, failures by cause, latency of the good answers, and who answered.</summary>
/// <param name="Sent">Requests sent (finished ones: each has a result).</param>
/// <param name="Ok">Answered 2xx.</param>
/// <param name="Failed">Everything else.</param>
/// <param name="FailuresByCause">Failed requests by <see cref="SteadyHttpResult.Error"/>, most frequent first.</param>
/// <param name="P50">Median latency of the good answers (nearest rank), zero where none.</param>
/// <param name="P99">99th percentile latency of the good answers (nearest rank), zero where none.</param>
/// <param name="Max">The slowest good answer, zero where none.</param>
/// <param name="Backends">Good answers by body, most frequent first.</param>
internal sealed record SteadyHttpSummary(
    int Sent,
    int Ok,
    int Failed,
    IReadOnlyList<KeyValuePair<string, int>> FailuresByCause,
    TimeSpan P50,
    TimeSpan P99,
    TimeSpan Max,
    IReadOnlyList<KeyValuePair<string, int>> Backends)
{
    public static SteadyHttpSummary Of(IEnumerable<SteadyHttpResult> results)
    {
        var all = results.ToList();
        var ok = all.Where(r => r.Ok).ToList();
        var latencies = ok.Select(r => r.Latency).Order().ToList();
        return new SteadyHttpSummary(
            all.Count,
            ok.Count,
            all.Count - ok.Count,
            Counted(all.Where(r => !r.Ok).Select(r => r.Error!)),
            Percentile(latencies, 50),
            Percentile(latencies, 99),
            latencies.Count == 0 ? TimeSpan.Zero : latencies[^1],
            Counted(ok.Select(r => r.Body ?? "")));
    }

    /// <summary>Nearest rank: the smallest value with at least <paramref name="percent"/>% of the values at or below it; zero for none.</summary>
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double percent)
    {
        if (sorted.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var rank = (int)Math.Ceiling(percent / 100 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }

    /// <summary>"ok/sent ok, N failed (cause n, ...), p50 x ms, p99 y ms" for a report line.</summary>
    public override string ToString()
    {
        var causes = FailuresByCause.Count == 0 ? "" : $" ({string.Join(", ", FailuresByCause.Select(c => $"{c.Key} {c.Value}"))})";
        return $"{Failed} failed of {Sent}{causes}, p50 {P50.TotalMilliseconds:F1} ms, p99 {P99.TotalMilliseconds:F1} ms, max {Max.TotalMilliseconds:F0} ms";
    }

    private static List<KeyValuePair<string, int>> Counted(IEnumerable<string> keys) =>
        [.. keys.GroupBy(k => k, StringComparer.Ordinal).Select(g => KeyValuePair.Create(g.Key, g.Count()))
            .OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)];
}

/// <summary>How a <see cref="SteadyHttpClient"/> sends.</summary>
/// <param name="Url">Where to; it must be on 127.0.0.0/8 (tests and benchmarks send nothing elsewhere).</param>
/// <param name="RatePerSecond">Requests per second, on a fixed schedule: a slow answer does not delay the next request (an open loop, as real clients are).</param>
/// <param name="MaxDuration">The client stops sending after this long, whatever else.</param>
/// <param name="MaxRequests">... or after this many.</param>
/// <param name="Timeout">Per request, from sending to the whole body.</param>
/// <param name="KeepAlive">True: connections are kept and reused (a pool, as a browser or a service client does); false: each request on a new connection, closed after its answer.</param>
internal sealed record SteadyHttpOptions(Uri Url, double RatePerSecond, TimeSpan MaxDuration, int MaxRequests, TimeSpan Timeout, bool KeepAlive)
{
    public static SteadyHttpOptions For(string url, double ratePerSecond = 50, TimeSpan? maxDuration = null, bool keepAlive = false) =>
        new(new Uri(url), ratePerSecond, maxDuration ?? TimeSpan.FromMinutes(5), int.MaxValue, TimeSpan.FromSeconds(2), keepAlive);
}

/// <summary>
/// A load client at a steady rate, for measuring what a deployment costs the clients of a service: GETs
/// at a fixed rate to one URL on loopback until stopped (or its time or count runs out), each with its own
/// timeout, every result recorded (when, how long, status or the cause of the failure, which backend
/// answered). <see cref="StopAsync"/> stops sending and waits for the requests in flight.
/// </summary>
internal sealed class SteadyHttpClient : IAsyncDisposable
{
    private const int BodyLimit = 200;
    private readonly SteadyHttpOptions _options;
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = new();
    private readonly List<SteadyHttpResult> _results = [];
    private readonly Lock _resultsLock = new();
    private readonly Task _sending;

    private SteadyHttpClient(SteadyHttpOptions options)
    {
        if (!IPAddress.TryParse(options.Url.Host, out var address) || !IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"the load client sends only to a loopback address, not {options.Url.Host}", nameof(options));
        }

        if (options.RatePerSecond <= 0 || options.RatePerSecond > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.RatePerSecond, "the rate must be above 0 and at most 10000 per second");
        }

        _options = options;
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = options.Timeout,
            PooledConnectionLifetime = options.KeepAlive ? Timeout.InfiniteTimeSpan : TimeSpan.Zero,
            MaxConnectionsPerServer = 1000,
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        _clock.Start();
        _sending = Task.Run(SendAllAsync);
    }

    /// <summary>Starts sending at once.</summary>
    public static SteadyHttpClient Start(SteadyHttpOptions options) => new(options);

    /// <summary>Time since the start, on the clock <see cref="SteadyHttpResult.SentAt"/> is on.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>The requests finished so far, in the order they finished.</summary>
    public IReadOnlyList<SteadyHttpResult> Results
    {
        get
        {
            lock (_resultsLock)
            {
                return [.. _results];
            }
        }
    }

    /// <summary>True once the time or the count has run out (or it was stopped) and every request has finished.</summary>
    public bool Finished => _sending.IsCompleted;

    /// <summary>Stops sending and waits for the requests in flight (each ends by its timeout at worst); returns every result in schedule order.</summary>
    public async Task<IReadOnlyList<SteadyHttpResult>> StopAsync()
    {
        await _stop.CancelAsync();
        await _sending;
        return [.. Results.OrderBy(r => r.Index)];
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        _stop.Dispose();
    }

    private async Task SendAllAsync()
    {
        var inFlight = new List<Task>();
        var interval = TimeSpan.FromSeconds(1 / _options.RatePerSecond);
        try
        {
            for (var i = 0; i < _options.MaxRequests && !_stop.IsCancellationRequested; i++)
            {
                var due = interval * i;
                if (due >= _options.MaxDuration)
                {
                    break;
                }

                var wait = due - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _stop.Token);
                }

                inFlight.Add(SendOneAsync(i));
                if (inFlight.Count > 256)
                {
                    inFlight.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped between two requests.
        }

        await Task.WhenAll(inFlight);
    }

    private async Task SendOneAsync(int index)
    {
        await Task.Yield();
        var sentAt = _clock.Elapsed;
        int? status = null;
        string? error;
        string? body = null;
        using var timeout = new CancellationTokenSource(_options.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _options.Url);
            if (!_options.KeepAlive)
            {
                request.Headers.ConnectionClose = true;
            }

            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            status = (int)response.StatusCode;
            var text = (await response.Content.ReadAsStringAsync(timeout.Token)).Trim();
            body = text.Length > BodyLimit ? text[..BodyLimit] : text;
            error = response.IsSuccessStatusCode ? null : $"http {status}";
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException or SocketException)
        {
            error = Cause(e, timeout.IsCancellationRequested);
        }

        var result = new SteadyHttpResult(index, sentAt, _clock.Elapsed - sentAt, status, error, body);
        lock (_resultsLock)
        {
            _results.Add(result);
        }
    }

    /// <summary>The cause of a failed request, as a short stable name: the socket error where there is one.</summary>
    internal static string Cause(Exception e, bool timedOut)
    {
        if (timedOut || e is OperationCanceledException or TimeoutException)
        {
            return "timeout";
        }

        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode.ToString();
            }
        }

        return e is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } http ? http.HttpRequestError.ToString() : e.GetType().Name;
    }
}
