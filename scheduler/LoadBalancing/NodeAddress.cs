using System.Net;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// Where a node's published ports are reachable, for the balancers and service discovery: the agent's
/// "host-address" attribute (Agent:AdvertiseAddress) when it sets one; else, for a binding published on a
/// specific address, that address; else the address the scheduler saw the agent's stream come from.
/// </summary>
internal static class NodeAddress
{
    /// <summary>The node attribute the agent sends Agent:AdvertiseAddress as.</summary>
    public const string Attribute = "host-address";

    /// <summary>The node's address before any binding is looked at: its advertised one, else its stream's peer; empty when neither is known.</summary>
    public static string Of(IReadOnlyDictionary<string, string> attributes, string peerHost) =>
        attributes.TryGetValue(Attribute, out var advertised) && advertised.Length > 0 ? advertised : peerHost;

    /// <summary>The host of one binding: the advertised address wins, then a specific bind address, then the peer.</summary>
    /// <param name="nodeHost">What <see cref="Of"/> answered for the node.</param>
    /// <param name="advertised">Whether the node advertises its address itself (the attribute is set).</param>
    public static string ForBinding(string nodeHost, bool advertised, string bindIp) =>
        !advertised && IsSpecific(bindIp) ? bindIp : nodeHost;

    /// <summary>A bind address that names one interface: not empty, 0.0.0.0 or ::.</summary>
    public static bool IsSpecific(string bindIp) =>
        bindIp.Length > 0 && !(IPAddress.TryParse(bindIp, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)));

    /// <summary>
    /// The IP of a gRPC peer as ServerCallContext.Peer writes it ("ipv4:1.2.3.4:5678", "ipv6:[::1]:5678");
    /// empty for anything else (a Unix socket, an unknown form).
    /// </summary>
    public static string HostOfPeer(string? peer)
    {
        if (string.IsNullOrEmpty(peer))
        {
            return "";
        }

        if (peer.StartsWith("ipv4:", StringComparison.Ordinal))
        {
            var rest = peer[5..];
            var colon = rest.LastIndexOf(':');
            var host = colon < 0 ? rest : rest[..colon];
            return IPAddress.TryParse(host, out var ip) ? ip.ToString() : "";
        }

        if (peer.StartsWith("ipv6:", StringComparison.Ordinal))
        {
            var rest = peer[5..];
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            var host = rest.StartsWith('[') && close > 0 ? rest[1..close] : rest;
            if (!IPAddress.TryParse(host, out var ip))
            {
                return "";
            }

            // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d: the balancers want a.b.c.d.
            return ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4().ToString() : ip.ToString();
        }

        return "";
    }
}
