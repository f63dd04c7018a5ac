using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

/// <summary>A target group as answers show it. Its balancers are filled by the balancers' side, not here.</summary>
internal static class TargetGroupMapper
{
    /// <param name="services">"cluster/name" of the services that name it.</param>
    public static Contract.TargetGroup ToContract(TargetGroupRecord group, IEnumerable<string> services)
    {
        var result = new Contract.TargetGroup
        {
            Name = group.Name,
            Protocol = Name(group.Protocol),
            Port = group.Port,
            HealthCheck = ToContract(group.HealthCheck),
            DeregistrationDelaySeconds = group.DeregistrationDelaySeconds,
            CreatedAt = Timestamps.From(group.CreatedAt),
        };
        result.Services.AddRange(services);
        return result;
    }

    public static Contract.TargetGroupHealthCheck ToContract(TargetHealthCheck check)
    {
        var http = check.Protocol == TargetProtocol.Http;
        return new Contract.TargetGroupHealthCheck
        {
            Protocol = Name(check.Protocol),
            // A TCP check only connects: it has no path or matcher to show.
            Path = http ? check.Path : "",
            Matcher = http ? check.Matcher : "",
            IntervalSeconds = check.IntervalSeconds,
            TimeoutSeconds = check.TimeoutSeconds,
            HealthyThreshold = check.HealthyThreshold,
            UnhealthyThreshold = check.UnhealthyThreshold,
        };
    }

    public static string Name(TargetProtocol protocol) => protocol == TargetProtocol.Tcp ? "TCP" : "HTTP";

    public static Contract.LoadBalancer ToContract(LoadBalancerSpec spec) =>
        new() { TargetGroup = spec.TargetGroup, ContainerName = spec.ContainerName, ContainerPort = spec.ContainerPort };
}
