namespace Orchestrator.Agent.Runtime;

/// <summary>
/// What a container runtime does itself. What it does not, the agent supplies (health checks run by
/// exec: <see cref="Probes.ProbedRuntime"/>) or the scheduler keeps away from its nodes (the features
/// only Docker has, <see cref="Contracts.V1.RuntimeSupport"/>). As Nomad's driver Capabilities and
/// swarmkit's optional ControllerLogs: the task supervisor never asks which engine it talks to.
/// </summary>
/// <param name="Name">"docker" or "containerd": the node attribute "runtime".</param>
/// <param name="NativeHealthChecks">The engine runs a container's health check and reports its status (Docker's HEALTHCHECK).</param>
internal sealed record RuntimeCapabilities(string Name, bool NativeHealthChecks)
{
    public const string Docker = Contracts.V1.RuntimeSupport.Docker;
    public const string Containerd = Contracts.V1.RuntimeSupport.Containerd;

    public static readonly RuntimeCapabilities OfDocker = new(Docker, NativeHealthChecks: true);
    public static readonly RuntimeCapabilities OfContainerd = new(Containerd, NativeHealthChecks: false);
}
