using System.Net;
using System.Net.Sockets;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// A TCP relay on 127.0.0.1 between one agent and the scheduler that a test can cut: while cut it
/// reads and drops every byte both ways and holds new connections without relaying them, as a network
/// that silently loses packets does (no reset, no close: both ends only see silence). Healing closes
/// every connection that lived through the cut, whose streams lost bytes, so the agent reconnects.
/// </summary>
internal sealed class PartitionProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _accepting;
    private volatile bool _cut;

    public PartitionProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>From now on nothing gets through, in either direction.</summary>
    public void Cut() => _cut = true;

    /// <summary>Lets traffic through again, closing every connection the cut broke.</summary>
    public void Heal()
    {
        lock (_sockets)
        {
            _cut = false;
            _sockets.ForEach(s => s.Dispose());
            _sockets.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Track(client);
            if (_cut)
            {
                _ = DropAsync(client); // held: read and dropped until the heal closes it
                continue;
            }

            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            Track(server);
            try
            {
                await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _target), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _ = RelayAsync(client, server);
            _ = RelayAsync(server, client);
        }
    }

    private void Track(Socket socket)
    {
        lock (_sockets)
        {
            _sockets.Add(socket);
        }
    }

    private async Task RelayAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                if (!_cut)
                {
                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Closed by the heal, by the other side, or at the end of the test.
        }

        if (!_cut)
        {
            from.Dispose();
            to.Dispose();
        }
    }

    private async Task DropAsync(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Closed by the heal or at the end of the test.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Heal();
        _stop.Dispose();
    }
}
