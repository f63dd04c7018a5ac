using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Connection;

/// <summary>The attributes a node registers with: what the agent found, then the operator's, then its runtime.</summary>
internal static class NodeAttributes
{
    public const string DockerVersion = "docker-version";
    public const string DockerLiveRestore = "docker-live-restore";

    public static Dictionary<string, string> Of(RuntimeCapabilities runtime, RuntimeInfo info, AgentOptions options)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["os"] = info.OperatingSystem,
            ["arch"] = info.Architecture,
        };

        // Docker's own attributes only where Docker runs: constraints written on them keep meaning Docker.
        if (runtime.Name == RuntimeCapabilities.Docker)
        {
            attributes[DockerVersion] = info.Version;
        }

        if (info.LiveRestore is { } liveRestore)
        {
            attributes[DockerLiveRestore] = liveRestore ? "true" : "false";
        }

        foreach (var (key, value) in options.ParseAttributes())
        {
            attributes[key] = value;
        }

        // Where the balancers reach this node's published ports; the scheduler sees the stream's address otherwise.
        if (options.ParseAdvertiseAddress() is { Length: > 0 } advertised)
        {
            attributes[AgentOptions.HostAddressAttribute] = advertised;
        }

        // After the operator's: the scheduler keeps Docker-only tasks off containerd nodes by this one, so
        // it says what the agent runs, whatever Agent:Attributes says.
        attributes[RuntimeSupport.RuntimeAttribute] = runtime.Name;
        attributes[RuntimeSupport.RuntimeVersionAttribute] = info.Version;
        return attributes;
    }
}
