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
}
