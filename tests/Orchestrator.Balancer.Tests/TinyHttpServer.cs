using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Balancer.Tests;

/// <summary>
/// A target for the tests: an HTTP/1 server on 127.0.0.1 that answers every request with its name and
/// closes the connection, counts the requests that are not health checks (path "/health"), and holds
/// requests for "/slow" until <see cref="ReleaseSlow"/>.
/// </summary>
internal sealed class TinyHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _slow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _requests;

    public TinyHttpServer(string name)
    {
        Name = name;
        _listener.Start();
        _ = AcceptAsync();
    }

    public string Name { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Requests => Volatile.Read(ref _requests);

    public int SlowStarted;

    public void ReleaseSlow() => _slow.TrySetResult();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _slow.TrySetResult();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[8192];
                var head = new StringBuilder();
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    head.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                var path = head.ToString().Split(' ')[1];
                if (path != "/health")
                {
                    Interlocked.Increment(ref _requests);
                }

                if (path == "/slow")
                {
                    Interlocked.Increment(ref SlowStarted);
                    await _slow.Task;
                }

                var body = Encoding.ASCII.GetBytes(Name);
                var answer = $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), _stop.Token);
                await stream.WriteAsync(body, _stop.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, or the test is over.
            }
        }
    }
}
