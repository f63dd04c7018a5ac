namespace Orchestrator.Agent.Tasks;

/// <summary>Who this agent is: what it stamps on its containers and the address it publishes ports on.</summary>
internal sealed record AgentIdentity(string Cluster, string NodeName, string HostIp)
{
    /// <summary>What this agent's settings allow its containers, and the defaults it gives them.</summary>
    public WorkloadSettings Workload { get; init; } = WorkloadSettings.Default;
}
