using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>A validated RegisterNode message.</summary>
internal sealed record AgentRegistration(
    string Cluster,
    string NodeName,
    int Cpu,
    int Memory,
    IReadOnlyDictionary<string, string> Attributes,
    string AgentVersion);

/// <summary>The scheduler's answer to a registration: the node as recorded and what it should run.</summary>
internal sealed record AgentWelcome(
    NodeView Node,
    TimeSpan HeartbeatInterval,
    IReadOnlyList<Contract.StartTaskCommand> Start,
    IReadOnlyList<Contract.StopTaskCommand> Stop);
