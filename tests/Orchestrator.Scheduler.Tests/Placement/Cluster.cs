using System.Collections.Frozen;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Scheduler.Tests.Placement;

/// <summary>Builds snapshots and requests for placement tests in one line each.</summary>
internal static class Cluster
{
    public static NodeSnapshot Node(
        string name,
        int cpu = 4096,
        int memory = 8192,
        int usedCpu = 0,
        int usedMemory = 0,
        NodeState status = NodeState.Active,
        bool connected = true,
        IEnumerable<int>? tcpPortsInUse = null,
        Dictionary<string, string>? attributes = null,
        Dictionary<string, int>? groups = null) => new(
        name,
        status,
        connected,
        cpu,
        memory,
        usedCpu,
        usedMemory,
        (tcpPortsInUse ?? []).Select(p => new HostPortKey(p, Protocol.Tcp).Key).ToFrozenSet(),
        attributes ?? [],
        (groups ?? []).ToFrozenDictionary());

    public static ClusterSnapshot Of(params NodeSnapshot[] nodes) => new(nodes, PortRange.EcsDefault);

    public static PlacementRequest Request(
        int cpu = 256,
        int memory = 512,
        int count = 1,
        PlacementStrategy[]? strategies = null,
        PlacementConstraint[]? constraints = null,
        string group = "family:web",
        params PortRequest[] ports) =>
        new(new TaskResourceDemand(cpu, memory, ports), count, strategies ?? [], constraints ?? [], group);

    public static PortRequest Port(int containerPort, int hostPort = 0, Protocol protocol = Protocol.Tcp) =>
        new("web", containerPort, hostPort, protocol);

    public static string[] NodesOf(PlacementResult result) => [.. result.Placed.Select(p => p.Node)];
}
