namespace Orchestrator.Agent.Tasks;

/// <summary>Who this agent is: what it stamps on its containers and the address it publishes ports on.</summary>
internal sealed record AgentIdentity(string Cluster, string NodeName, string HostIp);
