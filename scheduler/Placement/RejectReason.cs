namespace Orchestrator.Scheduler.Placement;

/// <summary>Why one node cannot take a task. The order is the order filters run in.</summary>
internal enum RejectReason
{
    None = 0,
    Inactive,
    Draining,
    Disconnected,
    MemberOf,
    Runtime,
    Privileged,
    HostPath,
    DistinctInstance,
    Cpu,
    Memory,
    Ports,
}
