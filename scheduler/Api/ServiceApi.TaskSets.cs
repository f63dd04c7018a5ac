using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

/// <summary>Task sets of services with the EXTERNAL deployment controller (blue/green, canary).</summary>
internal sealed partial class ServiceApi
{
    public override Task<CreateTaskSetResponse> CreateTaskSet(CreateTaskSetRequest request, ServerCallContext context) =>
        Task.FromResult(new CreateTaskSetResponse { TaskSet = TaskSetMapper.ToContract(state.CreateTaskSet(TaskSetValidator.Validate(request))) });

    public override Task<UpdateTaskSetResponse> UpdateTaskSet(UpdateTaskSetRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var service = Names.Require(request.Service, "service", "service name");
        var id = TaskSetValidator.Id(request.TaskSet, "taskSet");
        var scale = TaskSetValidator.Scale(request.Scale);
        return Task.FromResult(new UpdateTaskSetResponse { TaskSet = TaskSetMapper.ToContract(state.UpdateTaskSet(cluster, service, id, scale)) });
    }

    public override Task<UpdateServicePrimaryTaskSetResponse> UpdateServicePrimaryTaskSet(UpdateServicePrimaryTaskSetRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var service = Names.Require(request.Service, "service", "service name");
        var id = TaskSetValidator.Id(request.PrimaryTaskSet, "primaryTaskSet");
        return Task.FromResult(new UpdateServicePrimaryTaskSetResponse { TaskSet = TaskSetMapper.ToContract(state.UpdateServicePrimaryTaskSet(cluster, service, id)) });
    }

    public override Task<DeleteTaskSetResponse> DeleteTaskSet(DeleteTaskSetRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var service = Names.Require(request.Service, "service", "service name");
        var id = TaskSetValidator.Id(request.TaskSet, "taskSet");
        return Task.FromResult(new DeleteTaskSetResponse { TaskSet = TaskSetMapper.ToContract(state.DeleteTaskSet(cluster, service, id, request.Force)) });
    }

    public override Task<DescribeTaskSetsResponse> DescribeTaskSets(DescribeTaskSetsRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var name = Names.Require(request.Service, "service", "service name");
        var ids = TaskSetValidator.Ids(request.TaskSets, "taskSets");
        var (view, sets) = state.DescribeTaskSets(cluster, name, ids);
        var response = new DescribeTaskSetsResponse();
        DescribeAnswers.Fill(sets, set => TaskSetMapper.ToContract(view, set), response.TaskSets, response.Failures,
            id => $"task set \"{id}\" does not exist in service \"{name}\"");
        return Task.FromResult(response);
    }
}
