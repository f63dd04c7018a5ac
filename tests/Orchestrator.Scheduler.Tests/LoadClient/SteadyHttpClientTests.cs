using System.Net;
using System.Net.Sockets;
using System.Text;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.LoadClient;

/// <summary>The load client the load-balancing benchmark and end-to-end tests use: its summary maths, its causes, and a run against a loopback server.</summary>
[TestFixture]
public sealed class SteadyHttpClientTests
{
    private static SteadyHttpResult Ok(int index, double milliseconds, string body) =>
        new(index, TimeSpan.FromMilliseconds(index * 20), TimeSpan.FromMilliseconds(milliseconds), 200, null, body);

    private static SteadyHttpResult Failed(int index, string cause, int? status = null) =>
        new(index, TimeSpan.FromMilliseconds(index * 20), TimeSpan.FromMilliseconds(1), status, cause, null);

    // Nearest rank: the value at ceil(p/100 * n), counting from 1.
    [TestCase(new double[0], 50, 0)]
    [TestCase(new double[] { 7 }, 50, 7)]
    [TestCase(new double[] { 7 }, 99, 7)]
    [TestCase(new double[] { 1, 2 }, 50, 1)]
    [TestCase(new double[] { 1, 2 }, 99, 2)]
    [TestCase(new double[] { 1, 2, 3, 4 }, 50, 2)]
    [TestCase(new double[] { 1, 2, 3, 4, 5 }, 50, 3)]
    [TestCase(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 99, 10)]
    [TestCase(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 90, 9)]
    [TestCase(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 0, 1)]
    [TestCase(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 100, 10)]
    public void Percentile_is_the_nearest_rank(double[] sortedMilliseconds, double percent, double expected)
    {
        var sorted = sortedMilliseconds.Select(TimeSpan.FromMilliseconds).ToList();
        Assert.That(SteadyHttpSummary.Percentile(sorted, percent), Is.EqualTo(TimeSpan.FromMilliseconds(expected)));
    }

    [Test]
    public void Percentile_of_200_answers_puts_p99_on_the_198th()
    {
        var sorted = Enumerable.Range(1, 200).Select(i => TimeSpan.FromMilliseconds(i)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(SteadyHttpSummary.Percentile(sorted, 99), Is.EqualTo(TimeSpan.FromMilliseconds(198)));
            Assert.That(SteadyHttpSummary.Percentile(sorted, 50), Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        });
    }

    [Test]
    public void Summary_counts_failures_by_cause_and_backends_by_body_and_takes_latency_from_good_answers_only()
    {
        SteadyHttpResult[] results =
        [
            Ok(0, 4, "a"), Ok(1, 2, "b"), Failed(2, "ConnectionRefused"), Ok(3, 8, "a"),
            Failed(4, "timeout"), Failed(5, "ConnectionRefused"), Failed(6, "http 503", 503), Ok(7, 6, "c"),
        ];

        var summary = SteadyHttpSummary.Of(results);

        Assert.Multiple(() =>
        {
            Assert.That(summary.Sent, Is.EqualTo(8));
            Assert.That(summary.Ok, Is.EqualTo(4));
            Assert.That(summary.Failed, Is.EqualTo(4));
            Assert.That(summary.FailuresByCause, Is.EqualTo(new[]
            {
                KeyValuePair.Create("ConnectionRefused", 2), KeyValuePair.Create("http 503", 1), KeyValuePair.Create("timeout", 1),
            }));
            Assert.That(summary.Backends, Is.EqualTo(new[] { KeyValuePair.Create("a", 2), KeyValuePair.Create("b", 1), KeyValuePair.Create("c", 1) }));
            Assert.That(summary.P50, Is.EqualTo(TimeSpan.FromMilliseconds(4)));
            Assert.That(summary.P99, Is.EqualTo(TimeSpan.FromMilliseconds(8)));
            Assert.That(summary.Max, Is.EqualTo(TimeSpan.FromMilliseconds(8)));
            Assert.That(summary.ToString(), Is.EqualTo("4 failed of 8 (ConnectionRefused 2, http 503 1, timeout 1), p50 4.0 ms, p99 8.0 ms, max 8 ms"));
        });
    }

    [Test]
    public void Summary_of_nothing_is_all_zero()
    {
        var summary = SteadyHttpSummary.Of([]);
        Assert.Multiple(() =>
        {
            Assert.That((summary.Sent, summary.Ok, summary.Failed), Is.EqualTo((0, 0, 0)));
            Assert.That(summary.P99, Is.EqualTo(TimeSpan.Zero));
            Assert.That(summary.FailuresByCause, Is.Empty);
            Assert.That(summary.Backends, Is.Empty);
        });
    }

    [Test]
    public void Cause_names_the_socket_error_under_an_http_failure_and_a_timeout_as_such()
    {
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "refused", new SocketException((int)SocketError.ConnectionRefused));
        Assert.Multiple(() =>
        {
            Assert.That(SteadyHttpClient.Cause(refused, timedOut: false), Is.EqualTo("ConnectionRefused"));
            Assert.That(SteadyHttpClient.Cause(new HttpRequestException(HttpRequestError.ResponseEnded, "ended"), timedOut: false), Is.EqualTo("ResponseEnded"));
            Assert.That(SteadyHttpClient.Cause(new TaskCanceledException(), timedOut: true), Is.EqualTo("timeout"));
            Assert.That(SteadyHttpClient.Cause(new IOException("broken"), timedOut: false), Is.EqualTo("IOException"));
        });
    }

    [Test]
    public void Refuses_a_url_off_loopback()
    {
        Assert.Throws<ArgumentException>(() => SteadyHttpClient.Start(SteadyHttpOptions.For("http://192.0.2.1:80/")));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Sends_the_count_asked_for_and_records_who_answered(bool keepAlive)
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        using var serving = new CancellationTokenSource();
        var serverTask = ServeAsync(server, "backend-1", serving.Token);
        var port = ((IPEndPoint)server.LocalEndpoint).Port;

        var client = SteadyHttpClient.Start(new SteadyHttpOptions(new Uri($"http://127.0.0.1:{port}/"), 200, TimeSpan.FromSeconds(30), 20, TimeSpan.FromSeconds(5), keepAlive));
        await Polling.UntilAsync(() => Task.FromResult(client.Finished), "the client sent its 20 requests", TimeSpan.FromSeconds(30));
        var results = await client.StopAsync();
        await client.DisposeAsync();
        await serving.CancelAsync();
        await serverTask;

        var summary = SteadyHttpSummary.Of(results);
        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => r.Index), Is.EqualTo(Enumerable.Range(0, 20)));
            Assert.That(summary.Ok, Is.EqualTo(20), summary.ToString());
            Assert.That(summary.Backends, Is.EqualTo(new[] { KeyValuePair.Create("backend-1", 20) }));
        });
    }

    [Test]
    public async Task A_closed_port_is_a_refused_connection()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var client = SteadyHttpClient.Start(new SteadyHttpOptions(new Uri($"http://127.0.0.1:{port}/"), 100, TimeSpan.FromSeconds(30), 3, TimeSpan.FromSeconds(5), KeepAlive: false));
        await Polling.UntilAsync(() => Task.FromResult(client.Finished), "the client sent its 3 requests", TimeSpan.FromSeconds(30));
        var summary = SteadyHttpSummary.Of(await client.StopAsync());
        await client.DisposeAsync();

        Assert.That(summary.FailuresByCause, Is.EqualTo(new[] { KeyValuePair.Create("ConnectionRefused", 3) }));
    }

    /// <summary>A minimal HTTP/1.1 server: answers every request on a connection with the body, keeping the connection unless asked to close.</summary>
    private static async Task ServeAsync(TcpListener server, string body, CancellationToken cancellation)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await server.AcceptTcpClientAsync(cancellation);
                connections.Add(AnswerAsync(socket, body, cancellation));
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        await Task.WhenAll(connections);
    }

    private static async Task AnswerAsync(TcpClient socket, string body, CancellationToken cancellation)
    {
        using var _ = socket;
        try
        {
            var stream = socket.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
            while (true)
            {
                var close = false;
                var line = await reader.ReadLineAsync(cancellation);
                if (line is null)
                {
                    return;
                }

                while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(cancellation)))
                {
                    close |= line.Equals("Connection: close", StringComparison.OrdinalIgnoreCase);
                }

                var answer = $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n{(close ? "Connection: close\r\n" : "")}\r\n{body}";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), cancellation);
                if (close)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            // The client went, or the server stops.
        }
    }
}
