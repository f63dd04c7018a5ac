using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

/// <summary>The balancers' side of TargetGroupService: DescribeTargetHealth, and the balancers serving each group.</summary>
internal sealed partial class TargetGroupApi
{
    /// <summary>Every target of the group as derived now, with the balancers' word on it (LoadBalancing.TargetGroupHealth).</summary>
    public override Task<DescribeTargetHealthResponse> DescribeTargetHealth(DescribeTargetHealthRequest request, ServerCallContext context)
    {
        var name = TargetGroupValidator.Name(request.TargetGroup, "targetGroup");
        var targets = health.Describe(name) ?? throw RequestException.NotFound("targetGroup", $"target group \"{name}\" does not exist");
        var response = new DescribeTargetHealthResponse();
        response.Targets.AddRange(targets);
        return Task.FromResult(response);
    }

    /// <summary>The group with the connected balancers that serve it.</summary>
    private TargetGroup WithBalancers(TargetGroup group)
    {
        group.Balancers.AddRange(health.BalancersOf(group.Name));
        return group;
    }
}
