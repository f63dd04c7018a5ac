using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Checks that the listen address can be bound before the host starts, so that a port in use stops
/// the daemon with one clear line instead of Kestrel's stack trace.
/// </summary>
internal static class PortProbe
{
    /// <returns>Null when the address can be bound, else why not.</returns>
    public static string? WhyNotBindable(IPEndPoint endpoint)
    {
        try
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            // As Kestrel does, so a port in TIME_WAIT from a previous run is not taken for "in use".
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "address already in use",
                SocketError.AccessDenied => "permission denied",
                SocketError.AddressNotAvailable => "no such local address",
                _ => e.Message,
            };
        }
    }
}
