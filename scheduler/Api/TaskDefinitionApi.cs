using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api;

internal sealed class TaskDefinitionApi(ClusterState state) : TaskDefinitionService.TaskDefinitionServiceBase
{
    public override Task<RegisterTaskDefinitionResponse> RegisterTaskDefinition(RegisterTaskDefinitionRequest request, ServerCallContext context)
    {
        var (spec, demand) = TaskDefinitionValidator.Validate(request);
        var entry = state.RegisterTaskDefinition(spec, demand);
        return Task.FromResult(new RegisterTaskDefinitionResponse { TaskDefinition = TaskDefinitionMapper.ToContract(entry) });
    }

    public override Task<DescribeTaskDefinitionResponse> DescribeTaskDefinition(DescribeTaskDefinitionRequest request, ServerCallContext context)
    {
        var entry = state.FindTaskDefinition(RequireReference(request.TaskDefinition), "taskDefinition");
        return Task.FromResult(new DescribeTaskDefinitionResponse { TaskDefinition = TaskDefinitionMapper.ToContract(entry) });
    }

    public override Task<ListTaskDefinitionsResponse> ListTaskDefinitions(ListTaskDefinitionsRequest request, ServerCallContext context)
    {
        Names.Text(request.FamilyPrefix, "familyPrefix", Names.MaxLength);
        bool? active = request.IncludeAllStatuses ? null : request.Status switch
        {
            TaskDefinitionStatus.Unspecified or TaskDefinitionStatus.Active => true,
            TaskDefinitionStatus.Inactive => false,
            _ => throw RequestException.Invalid("status", $"unknown status {(int)request.Status}"),
        };
        var records = state.ListTaskDefinitions(request.FamilyPrefix, active);
        var (page, next) = Paging.Page(records, r => $"{r.Family}\0{r.Revision:D10}", request.MaxResults, request.NextToken);
        var response = new ListTaskDefinitionsResponse { NextToken = next };
        response.TaskDefinitionArns.AddRange(page.Select(r => r.Arn));
        return Task.FromResult(response);
    }

    public override Task<ListTaskDefinitionFamiliesResponse> ListTaskDefinitionFamilies(ListTaskDefinitionFamiliesRequest request, ServerCallContext context)
    {
        Names.Text(request.FamilyPrefix, "familyPrefix", Names.MaxLength);
        var (page, next) = Paging.Page(state.ListTaskDefinitionFamilies(request.FamilyPrefix), f => f, request.MaxResults, request.NextToken);
        var response = new ListTaskDefinitionFamiliesResponse { NextToken = next };
        response.Families.AddRange(page);
        return Task.FromResult(response);
    }

    public override Task<DeregisterTaskDefinitionResponse> DeregisterTaskDefinition(DeregisterTaskDefinitionRequest request, ServerCallContext context)
    {
        var entry = state.DeregisterTaskDefinition(RequireReference(request.TaskDefinition));
        return Task.FromResult(new DeregisterTaskDefinitionResponse { TaskDefinition = TaskDefinitionMapper.ToContract(entry) });
    }

    private static string RequireReference(string reference)
    {
        if (reference.Length == 0)
        {
            throw RequestException.Invalid("taskDefinition", "is required: \"family\" or \"family:revision\"");
        }

        return Names.Text(reference, "taskDefinition", 300);
    }
}
