using System.Net;
using Orchestrator.Balancer.Haproxy;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Balancer.Apply;

/// <summary>
/// A BalancerAssignment as the groups to serve: only the ones this balancer serves (Balancer:TargetGroups,
/// empty: all), defaults filled in as the scheduler documents them, and each target's host as an IP address
/// (HAProxy's <c>set server addr</c> takes no name; a name is resolved here, a target that does not resolve left out).
/// </summary>
internal static class DesiredState
{
    public static IReadOnlyList<DesiredGroup> From(BalancerAssignment assignment, IReadOnlySet<string> only, Func<string, string?>? resolve = null)
    {
        resolve ??= Resolve;
        var groups = new List<DesiredGroup>();
        foreach (var balanced in assignment.TargetGroups)
        {
            var group = balanced.TargetGroup;
            if (group is null || (only.Count > 0 && !only.Contains(group.Name)))
            {
                continue;
            }

            var http = !string.Equals(group.Protocol, "TCP", StringComparison.OrdinalIgnoreCase);
            var hc = group.HealthCheck ?? new TargetGroupHealthCheck();
            var checkHttp = string.IsNullOrEmpty(hc.Protocol) ? http : !string.Equals(hc.Protocol, "TCP", StringComparison.OrdinalIgnoreCase);
            var d = HealthCheckSettings.Default;
            var interval = hc.IntervalSeconds > 0 ? hc.IntervalSeconds : d.IntervalSeconds;
            var check = new HealthCheckSettings(
                checkHttp,
                string.IsNullOrEmpty(hc.Path) ? d.Path : hc.Path,
                string.IsNullOrEmpty(hc.Matcher) ? d.Matcher : hc.Matcher,
                interval,
                hc.TimeoutSeconds > 0 ? hc.TimeoutSeconds : Math.Min(d.TimeoutSeconds, interval),
                hc.HealthyThreshold > 0 ? hc.HealthyThreshold : d.HealthyThreshold,
                hc.UnhealthyThreshold > 0 ? hc.UnhealthyThreshold : d.UnhealthyThreshold);
            var targets = new List<DesiredTarget>();
            foreach (var target in balanced.Targets)
            {
                if (target.Port is < 1 or > 65535 || resolve(target.Host) is not { } address)
                {
                    continue;
                }

                targets.Add(new DesiredTarget(target.Id, address, target.Port, Math.Clamp(target.Weight, 0, 256), target.Draining));
            }

            groups.Add(new DesiredGroup(group.Name, http, group.Port, check, targets));
        }

        return groups;
    }

    private static string? Resolve(string host)
    {
        if (IPAddress.TryParse(host, out var ip))
        {
            return ip.ToString();
        }

        try
        {
            var addresses = Dns.GetHostAddresses(host);
            return (addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault())?.ToString();
        }
        catch (System.Net.Sockets.SocketException)
        {
            return null;
        }
    }
}
