using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>A validated RegisterNode message.</summary>
/// <param name="Policy">What the agent lets tasks do; null is <see cref="NodePolicy.None"/>.</param>
internal sealed record AgentRegistration(
    string Cluster,
    string NodeName,
    int Cpu,
    int Memory,
    IReadOnlyDictionary<string, string> Attributes,
    string AgentVersion,
    bool Rejoin = false,
    IReadOnlyDictionary<string, string>? Tags = null,
    NodePolicy? Policy = null)
{
    /// <summary>The IP the agent's stream came from, as the scheduler saw it (empty: unknown): where its ports are, unless it advertises an address.</summary>
    public string PeerHost { get; init; } = "";
}

/// <summary>
/// The node was deregistered by an operator and the agent did not ask to rejoin: the registration is
/// answered Deregistered, and nothing about the node changes.
/// </summary>
internal sealed class NodeDeregisteredException(string reason) : Exception(reason);

/// <summary>The certificate an agent's stream was opened with (mutual TLS).</summary>
/// <param name="Current">It is the node's newest certificate, not the one it had before a renewal.</param>
internal sealed record SessionCredential(string Thumbprint, bool Current);

/// <summary>The scheduler's answer to a registration: the node as recorded and what it should run.</summary>
internal sealed record AgentWelcome(
    NodeView Node,
    TimeSpan HeartbeatInterval,
    IReadOnlyList<Contract.StartTaskCommand> Start,
    IReadOnlyList<Contract.StopTaskCommand> Stop);
