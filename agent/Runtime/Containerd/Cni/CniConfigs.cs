using System.Net;
using System.Text.Json.Nodes;

namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>
/// The network configurations handed to the CNI plugins on stdin, as nerdctl's default network has them:
/// bridge (host-local IPAM) + portmap + firewall, and the loopback network every namespace gets.
/// Pure: the same inputs give the same JSON, so a restarted agent can check what it had set up.
/// </summary>
internal static class CniConfigs
{
    /// <summary>The newest CNI spec we speak; 0.4.0 is the oldest with CHECK and DEL's prevResult.</summary>
    public static readonly IReadOnlyList<string> SpokenVersions = ["1.0.0", "0.4.0"];

    public const string LoopbackNetwork = "cni-loopback";

    /// <summary>The newest version both sides speak; null when none.</summary>
    public static string? ChooseVersion(IEnumerable<string> pluginVersions)
    {
        var supported = pluginVersions.ToHashSet(StringComparer.Ordinal);
        return SpokenVersions.FirstOrDefault(supported.Contains);
    }

    public static JsonObject Loopback(string cniVersion) => new()
    {
        ["cniVersion"] = cniVersion,
        ["name"] = LoopbackNetwork,
        ["type"] = "loopback",
    };

    /// <summary>The chain of bridge mode; portmap only when ports are published (it has nothing to do otherwise).</summary>
    public static IReadOnlyList<JsonObject> BridgeChain(string cniVersion, string bridge, string subnet, string ipamDirectory, IReadOnlyList<PortSpec> ports)
    {
        var chain = new List<JsonObject>
        {
            new()
            {
                ["cniVersion"] = cniVersion,
                ["name"] = bridge,
                ["type"] = "bridge",
                ["bridge"] = bridge,
                ["isGateway"] = true,
                ["ipMasq"] = true,
                // Lets a container reach its own published ports through the host.
                ["hairpinMode"] = true,
                ["ipam"] = new JsonObject
                {
                    ["type"] = "host-local",
                    ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = subnet })),
                    ["routes"] = new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
                    ["dataDir"] = ipamDirectory,
                },
            },
        };
        if (ports.Count > 0)
        {
            chain.Add(new JsonObject
            {
                ["cniVersion"] = cniVersion,
                ["name"] = bridge,
                ["type"] = "portmap",
                ["capabilities"] = new JsonObject { ["portMappings"] = true },
                // snat (the default) masquerades connections to 127.0.0.1 and sets route_localnet on the
                // bridge, which is what makes a port published on localhost reachable from the host.
                ["snat"] = true,
                ["runtimeConfig"] = new JsonObject { ["portMappings"] = PortMappings(ports) },
            });
        }
        chain.Add(new JsonObject
        {
            ["cniVersion"] = cniVersion,
            ["name"] = bridge,
            ["type"] = "firewall",
        });
        return chain;
    }

    public static JsonArray PortMappings(IReadOnlyList<PortSpec> ports)
    {
        var mappings = new JsonArray();
        foreach (var port in ports)
        {
            var mapping = new JsonObject
            {
                ["hostPort"] = port.HostPort,
                ["containerPort"] = port.ContainerPort,
                ["protocol"] = port.Udp ? "udp" : "tcp",
            };
            // portmap takes a missing hostIP as every address of the host.
            if (!IsAnyAddress(port.HostIp))
            {
                mapping["hostIP"] = port.HostIp;
            }
            mappings.Add(mapping);
        }
        return mappings;
    }

    /// <summary>The configuration with the result of the plugins before it (CNI: ADD after the first, DEL, CHECK).</summary>
    public static JsonObject WithPrevResult(JsonObject config, JsonObject? prevResult)
    {
        var copy = (JsonObject)config.DeepClone();
        if (prevResult is not null)
        {
            copy["prevResult"] = prevResult.DeepClone();
        }
        return copy;
    }

    public static bool IsAnyAddress(string hostIp) =>
        string.IsNullOrEmpty(hostIp) || (IPAddress.TryParse(hostIp, out var address) && (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)));
}
