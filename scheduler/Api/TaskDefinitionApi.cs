using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Api;

internal sealed class TaskDefinitionApi(ClusterState state, SchedulerOptions options) : TaskDefinitionService.TaskDefinitionServiceBase
{
    public override Task<RegisterTaskDefinitionResponse> RegisterTaskDefinition(RegisterTaskDefinitionRequest request, ServerCallContext context)
    {
        var (spec, demand) = TaskDefinitionValidator.Validate(request, options.HeartbeatInterval);
        var entry = state.RegisterTaskDefinition(spec, demand, TagValidator.Validate(request.Tags));
        var response = new RegisterTaskDefinitionResponse { TaskDefinition = TaskDefinitionMapper.ToContract(entry) };
        response.Tags.AddRange(TagMapper.ToContract(entry.Record.Tags));
        return Task.FromResult(response);
    }

    public override Task<DescribeTaskDefinitionResponse> DescribeTaskDefinition(DescribeTaskDefinitionRequest request, ServerCallContext context)
    {
        var entry = state.FindTaskDefinition(Names.TaskDefinitionReference(request.TaskDefinition), "taskDefinition");
        var response = new DescribeTaskDefinitionResponse { TaskDefinition = TaskDefinitionMapper.ToContract(entry) };
        response.Tags.AddRange(TagMapper.ToContract(entry.Record.Tags));
        return Task.FromResult(response);
    }

    public override Task<ListTaskDefinitionsResponse> ListTaskDefinitions(ListTaskDefinitionsRequest request, ServerCallContext context)
    {
        Names.Text(request.FamilyPrefix, "familyPrefix", Names.MaxLength);
        Func<Domain.TaskDefinitionState, bool> status = request.IncludeAllStatuses ? _ => true : request.Status switch
        {
            TaskDefinitionStatus.Unspecified or TaskDefinitionStatus.Active => s => s == Domain.TaskDefinitionState.Active,
            TaskDefinitionStatus.Inactive => s => s == Domain.TaskDefinitionState.Inactive,
            TaskDefinitionStatus.DeleteInProgress => s => s == Domain.TaskDefinitionState.DeleteInProgress,
            _ => throw RequestException.Invalid("status", $"unknown status {(int)request.Status}"),
        };

        // As ECS: familyPrefix names one family exactly, unless matchFamilyPrefix asks for a prefix.
        var records = state.ListTaskDefinitions(request.FamilyPrefix, request.MatchFamilyPrefix, status);
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
        var entry = state.DeregisterTaskDefinition(Names.TaskDefinitionReference(request.TaskDefinition));
        return Task.FromResult(new DeregisterTaskDefinitionResponse { TaskDefinition = TaskDefinitionMapper.ToContract(entry) });
    }

    public override Task<DeleteTaskDefinitionsResponse> DeleteTaskDefinitions(DeleteTaskDefinitionsRequest request, ServerCallContext context)
    {
        if (request.TaskDefinitions.Count == 0)
        {
            throw RequestException.Invalid("taskDefinitions", "name at least one revision, \"family:revision\"");
        }

        Limits.Count(request.TaskDefinitions, MaxDeletes, "taskDefinitions");
        var references = request.TaskDefinitions.Select((r, i) => RequireRevision(r, $"taskDefinitions[{i}]")).ToList();
        var (deleting, failures) = state.DeleteTaskDefinitions(references);
        var response = new DeleteTaskDefinitionsResponse();
        response.TaskDefinitions.AddRange(deleting.Select(TaskDefinitionMapper.ToContract));
        response.Failures.AddRange(failures.Select(f => new Failure { Subject = f.Subject, Reason = f.Reason, Detail = f.Detail }));
        return Task.FromResult(response);
    }

    /// <summary>ECS deletes at most 10 revisions per call.</summary>
    private const int MaxDeletes = 10;

    private static string RequireRevision(string reference, string field)
    {
        Names.Text(reference, field, 300);
        var colon = reference.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(reference.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out var revision) || revision < 1)
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(reference)}\" must name a revision, \"family:revision\"");
        }

        return reference;
    }
}
