using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Balancer.Haproxy;

/// <summary>
/// One command to one of HAProxy's unix sockets: connect, send the line, close the sending side (which
/// is what ends a non-interactive session, of the master CLI too), read the answer to the end.
/// </summary>
internal static class UnixSocketCommand
{
    public static async Task<string> SendAsync(string path, string what, string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), deadline.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, deadline.Token);
            socket.Shutdown(SocketShutdown.Send);
            var answer = new StringBuilder();
            var buffer = new byte[16384];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                answer.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }

            return answer.ToString();
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AccessDenied)
        {
            throw new HaproxyUnavailableException($"cannot write HAProxy's {what} {path}: permission denied", e);
        }
        catch (SocketException e) when (!File.Exists(path))
        {
            throw new HaproxyUnavailableException($"haproxy is not running (no {what} at {path})", e);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused)
        {
            throw new HaproxyUnavailableException($"haproxy is not running (nothing answers on its {what} {path})", e);
        }
        catch (SocketException e)
        {
            throw new HaproxyUnavailableException($"haproxy's {what} {path}: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HaproxyUnavailableException($"haproxy did not answer on its {what} {path} within {timeout.TotalSeconds:0} s", e);
        }
    }
}
