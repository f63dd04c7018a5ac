using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>The task's networkMode; "" is "bridge". (The stored definition keeps what was given.)</summary>
internal enum NetworkMode
{
    Bridge,
    Host,
    None,
    Awsvpc,
}

/// <summary>The task's networkMode, and what each mode allows of a container's network settings.</summary>
internal static class NetworkModeValidator
{
    public static NetworkMode Parse(string value) => value switch
    {
        "" or "bridge" => NetworkMode.Bridge,
        "host" => NetworkMode.Host,
        "none" => NetworkMode.None,
        "awsvpc" => NetworkMode.Awsvpc,
        _ => throw RequestException.Invalid("networkMode", $"must be \"bridge\", \"host\", \"none\" or \"awsvpc\", not \"{Echo.Clip(value)}\""),
    };

    /// <summary>
    /// The node port a mapping takes. In host mode the container listens on the node itself, so its
    /// port is the node's: hostPort may only repeat containerPort, and 0 means containerPort (a static
    /// port, reserved at placement as a bridge mode hostPort is), never a dynamic one.
    /// </summary>
    public static int HostPortOf(Contract.PortMapping mapping, string field, NetworkMode mode)
    {
        if (mode != NetworkMode.Host)
        {
            return mapping.HostPort;
        }

        if (mapping.HostPort != 0 && mapping.HostPort != mapping.ContainerPort)
        {
            throw RequestException.Invalid($"{field}.hostPort", $"in networkMode \"host\" the host port is the container port, {mapping.ContainerPort} (or 0 for the same), not {mapping.HostPort}");
        }

        return mapping.ContainerPort;
    }

    /// <summary>Refuses the container's settings that its task's mode has no use for.</summary>
    public static void CheckContainer(Contract.ContainerDefinition container, string at, NetworkMode mode)
    {
        if (container.Links.Count > 0 && mode != NetworkMode.Bridge)
        {
            var why = mode == NetworkMode.Awsvpc ? "; in \"awsvpc\" the task's containers reach one another by container name" : "";
            throw RequestException.Invalid($"{at}.links", $"are for networkMode \"bridge\" only, not \"{Name(mode)}\"{why}");
        }

        if (mode == NetworkMode.Host && container.Hostname.Length > 0)
        {
            throw RequestException.Invalid($"{at}.hostname", "cannot be set in networkMode \"host\": the container has the node's host name");
        }

        if (mode == NetworkMode.None)
        {
            if (container.PortMappings.Count > 0)
            {
                throw RequestException.Invalid($"{at}.portMappings", "networkMode \"none\" has no network to publish ports on");
            }

            RefuseWithoutNetwork(container.DnsServers.Count, $"{at}.dnsServers");
            RefuseWithoutNetwork(container.DnsSearchDomains.Count, $"{at}.dnsSearchDomains");
            RefuseWithoutNetwork(container.ExtraHosts.Count, $"{at}.extraHosts");
        }
    }

    public static string Name(NetworkMode mode) => mode.ToString().ToLowerInvariant();

    private static void RefuseWithoutNetwork(int count, string field)
    {
        if (count > 0)
        {
            throw RequestException.Invalid(field, "networkMode \"none\" has no network, so there is no name to resolve");
        }
    }
}
