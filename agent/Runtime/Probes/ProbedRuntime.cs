namespace Orchestrator.Agent.Runtime.Probes;

/// <summary>
/// Health checks supplied by the agent for a runtime that has none (containerd): wraps the runtime, runs
/// each container's check by exec on its interval, timeout, retries and start period, and shows the
/// result in Inspect, List and Events as Docker shows its own. (helper D)
/// </summary>
internal sealed class ProbedRuntime
{
}
