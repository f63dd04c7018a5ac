using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class NodeMapper
{
    public static Contract.Node ToContract(NodeView view)
    {
        var record = view.Record;
        var node = new Contract.Node
        {
            Cluster = record.Cluster,
            Name = record.Name,
            Status = ToContract(record.Status),
            AgentConnected = view.Connected,
            Registered = new Contract.Resources { Cpu = record.TotalCpu, Memory = record.TotalMemory },
            Remaining = new Contract.Resources { Cpu = record.TotalCpu - view.UsedCpu, Memory = record.TotalMemory - view.UsedMemory },
            RunningTasks = view.RunningTasks,
            PendingTasks = view.PendingTasks,
            AgentVersion = record.AgentVersion,
            RegisteredAt = Timestamps.From(record.RegisteredAt),
            LastHeartbeatAt = Timestamps.From(view.LastHeartbeatAt),
        };
        foreach (var (key, value) in record.AllAttributes())
        {
            node.Attributes[key] = value;
        }

        foreach (var (key, value) in record.CustomAttributes)
        {
            node.CustomAttributes[key] = value;
        }

        node.Tags.AddRange(TagMapper.ToContract(record.Tags));

        node.PortsInUse.AddRange(view.PortsInUse.Select(p => new Contract.HostPort { Port = p.Port, Protocol = WireEnums.ToWire(p.Protocol) }));
        return node;
    }

    public static Contract.NodeStatus ToContract(NodeState state) => state switch
    {
        NodeState.Active => Contract.NodeStatus.Active,
        NodeState.Draining => Contract.NodeStatus.Draining,
        _ => Contract.NodeStatus.Inactive,
    };
}
