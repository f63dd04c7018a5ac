using Orchestrator.Balancer.Haproxy;

namespace Orchestrator.Balancer.Apply;

/// <summary>What the applier writes where, and how long a reload may take.</summary>
internal sealed record ApplierSettings(string BalancerName, string ConfigPath, string StateFile, string AdminSocket, string BindAddress, TimeSpan ReloadTimeout, string RunAs = "")
{
    public RenderSettings Render => new(AdminSocket, StateFile, BindAddress, BalancerName, RunAs);
}
