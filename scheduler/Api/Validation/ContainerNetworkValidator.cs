using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// The form of a container's name settings: hostname, extraHosts, dnsServers and dnsSearchDomains.
/// (Which of them the task's networkMode allows is <see cref="NetworkModeValidator"/>'s.)
/// </summary>
internal static class ContainerNetworkValidator
{
    public static void Check(Contract.ContainerDefinition container, string at)
    {
        if (container.Hostname.Length > 0 && !HostNames.IsHostname(container.Hostname, HostNames.MaxContainerHostnameLength))
        {
            throw RequestException.Invalid($"{at}.hostname", $"\"{Echo.Clip(container.Hostname)}\" is not a host name: {HostNames.Rule(HostNames.MaxContainerHostnameLength)}");
        }

        Limits.Count(container.ExtraHosts, Limits.MaxExtraHosts, $"{at}.extraHosts");
        for (var i = 0; i < container.ExtraHosts.Count; i++)
        {
            var entry = container.ExtraHosts[i];
            var field = $"{at}.extraHosts[{i}]";
            if (!HostNames.IsHostname(entry.Hostname))
            {
                throw RequestException.Invalid($"{field}.hostname", $"\"{Echo.Clip(entry.Hostname)}\" is not a host name: {HostNames.Rule()}");
            }

            if (!HostNames.IsIpAddress(entry.IpAddress))
            {
                throw RequestException.Invalid($"{field}.ipAddress", $"\"{Echo.Clip(entry.IpAddress)}\" is not an IPv4 or IPv6 address");
            }
        }

        Limits.Count(container.DnsServers, Limits.MaxDnsServers, $"{at}.dnsServers");
        for (var i = 0; i < container.DnsServers.Count; i++)
        {
            if (!HostNames.IsIpAddress(container.DnsServers[i]))
            {
                throw RequestException.Invalid($"{at}.dnsServers[{i}]", $"\"{Echo.Clip(container.DnsServers[i])}\" is not an IPv4 or IPv6 address");
            }
        }

        Limits.Count(container.DnsSearchDomains, Limits.MaxDnsSearchDomains, $"{at}.dnsSearchDomains");
        for (var i = 0; i < container.DnsSearchDomains.Count; i++)
        {
            if (!HostNames.IsHostname(container.DnsSearchDomains[i]))
            {
                throw RequestException.Invalid($"{at}.dnsSearchDomains[{i}]", $"\"{Echo.Clip(container.DnsSearchDomains[i])}\" is not a domain name: {HostNames.Rule()}");
            }
        }
    }
}
