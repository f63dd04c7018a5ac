using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

/// <summary>
/// TargetGroupService: the groups themselves. Partial: DescribeTargetHealth and the balancers' view of
/// each group come from the load-balancing side, in its own file.
/// </summary>
internal sealed partial class TargetGroupApi(ClusterState state) : TargetGroupService.TargetGroupServiceBase
{
    public override Task<CreateTargetGroupResponse> CreateTargetGroup(CreateTargetGroupRequest request, ServerCallContext context)
    {
        var group = state.CreateTargetGroup(TargetGroupValidator.Create(request));
        return Task.FromResult(new CreateTargetGroupResponse { TargetGroup = ToContract(group) });
    }

    public override Task<DescribeTargetGroupsResponse> DescribeTargetGroups(DescribeTargetGroupsRequest request, ServerCallContext context)
    {
        Limits.Count(request.Names, Limits.MaxDescribe, "names");
        var response = new DescribeTargetGroupsResponse();
        if (request.Names.Count == 0)
        {
            response.TargetGroups.AddRange(state.ListTargetGroups().Select(ToContract));
            return Task.FromResult(response);
        }

        var names = request.Names.Select((n, i) => TargetGroupValidator.Name(n, $"names[{i}]")).ToList();
        DescribeAnswers.Fill(names.Select(n => (n, state.TargetGroupNamed(n))), ToContract, response.TargetGroups, response.Failures,
            name => $"target group \"{name}\" does not exist");
        return Task.FromResult(response);
    }

    public override Task<ListTargetGroupsResponse> ListTargetGroups(ListTargetGroupsRequest request, ServerCallContext context)
    {
        var names = state.ListTargetGroups().Select(g => g.Name).ToList();
        var (page, next) = Paging.Page(names, n => n, request.MaxResults, request.NextToken);
        var response = new ListTargetGroupsResponse { NextToken = next };
        response.Names.AddRange(page);
        return Task.FromResult(response);
    }

    public override Task<DeleteTargetGroupResponse> DeleteTargetGroup(DeleteTargetGroupRequest request, ServerCallContext context)
    {
        var deleted = state.DeleteTargetGroup(TargetGroupValidator.Name(request.Name, "name"));
        return Task.FromResult(new DeleteTargetGroupResponse { TargetGroup = TargetGroupMapper.ToContract(deleted, []) });
    }

    private TargetGroup ToContract(Domain.TargetGroupRecord group) => TargetGroupMapper.ToContract(group, state.ServicesOfTargetGroup(group.Name));
}
