using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>
/// Host ports checked before a container's network is made. portmap only writes DNAT rules, and nothing
/// listens on the host port, so two containers could be given the same port without a word: a port is
/// refused when something on the host is bound to it, or another of our containers publishes it.
/// </summary>
internal static class HostPorts
{
    /// <summary>The first port of <paramref name="requested"/> that clashes with another of it or with <paramref name="published"/>; null when none.</summary>
    public static PortSpec? FindConflict(IReadOnlyList<PortSpec> requested, IEnumerable<PortSpec> published)
    {
        var taken = published.ToList();
        foreach (var port in requested)
        {
            if (port.HostPort != 0 && taken.Any(other => Clash(port, other)))
            {
                return port;
            }
            taken.Add(port);
        }
        return null;
    }

    /// <summary>Same port and protocol, and the addresses overlap (equal, or either is every address).</summary>
    public static bool Clash(PortSpec a, PortSpec b) =>
        a.HostPort == b.HostPort && a.Udp == b.Udp
        && (CniConfigs.IsAnyAddress(a.HostIp) || CniConfigs.IsAnyAddress(b.HostIp) || Address(a.HostIp).Equals(Address(b.HostIp)));

    public static IPAddress Address(string hostIp) => string.IsNullOrEmpty(hostIp) ? IPAddress.Any : IPAddress.Parse(hostIp);

    public static string Describe(PortSpec port) =>
        $"host port {port.HostPort}/{(port.Udp ? "udp" : "tcp")} is already in use on {(string.IsNullOrEmpty(port.HostIp) ? "0.0.0.0" : port.HostIp)}";

    /// <summary>Whether the port can be bound on the host now (a listener or a docker-proxy holds it otherwise).</summary>
    public static bool IsFree(PortSpec port)
    {
        try
        {
            using var socket = Bind(port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A free port chosen by the kernel for a port published on 0 (Docker's "any host port").</summary>
    public static int ChooseFree(PortSpec port)
    {
        using var socket = Bind(port with { HostPort = 0 });
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static Socket Bind(PortSpec port)
    {
        var address = Address(port.HostIp);
        var socket = port.Udp
            ? new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port.HostPort));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
