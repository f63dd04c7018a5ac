using System.Net;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.HA;

/// <summary>Where the other schedulers and the agents reach this one: Scheduler:AdvertiseAddress, else the listen address.</summary>
internal static class AdvertisedAddress
{
    public static string Of(SchedulerOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.AdvertiseAddress))
        {
            return options.AdvertiseAddress.Trim();
        }

        var listen = ListenAddress.Parse(options.Listen);
        return listen.Address.Equals(IPAddress.Any) || listen.Address.Equals(IPAddress.IPv6Any)
            ? $"{Dns.GetHostName()}:{listen.Port}"
            : listen.ToString();
    }

    /// <summary>The host of "host:port" or "[v6]:port" (what the server certificate must name); null when the address is empty.</summary>
    public static string? HostOf(string address)
    {
        var text = address.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        var colon = text.LastIndexOf(':');
        var host = colon > 0 && !text.EndsWith(']') ? text[..colon] : text;
        host = host.Trim('[', ']');
        return host.Length == 0 ? null : host;
    }
}
