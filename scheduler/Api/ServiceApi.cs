using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Api;

internal sealed partial class ServiceApi(ClusterState state, ServiceEndpointsApi endpoints) : ServiceService.ServiceServiceBase
{
    /// <summary>Service discovery (see <see cref="ServiceEndpointsApi"/>).</summary>
    public override Task<ListServiceEndpointsResponse> ListServiceEndpoints(ListServiceEndpointsRequest request, ServerCallContext context) =>
        Task.FromResult(endpoints.List(request));

    public override Task WatchServiceEndpoints(WatchServiceEndpointsRequest request, IServerStreamWriter<ServiceEndpointsUpdate> responseStream, ServerCallContext context) =>
        endpoints.WatchAsync(request, responseStream, context);

    public override Task<CreateServiceResponse> CreateService(CreateServiceRequest request, ServerCallContext context) =>
        Task.FromResult(new CreateServiceResponse { Service = ServiceMapper.ToContract(state.CreateService(ServiceValidator.Validate(request))) });

    public override Task<UpdateServiceResponse> UpdateService(UpdateServiceRequest request, ServerCallContext context) =>
        Task.FromResult(new UpdateServiceResponse { Service = ServiceMapper.ToContract(state.UpdateService(ServiceValidator.Validate(request))) });

    public override Task<DeleteServiceResponse> DeleteService(DeleteServiceRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var name = Names.Require(request.Service, "service", "service name");
        return Task.FromResult(new DeleteServiceResponse { Service = ServiceMapper.ToContract(state.DeleteService(cluster, name, request.Force)) });
    }

    public override Task<DescribeServicesResponse> DescribeServices(DescribeServicesRequest request, ServerCallContext context)
    {
        var cluster = state.RequireClusterName(Names.Cluster(request.Cluster));
        if (request.Services.Count == 0)
        {
            throw RequestException.Invalid("services", "name at least one service");
        }

        Limits.Count(request.Services, Limits.MaxDescribe, "services");
        var response = new DescribeServicesResponse();
        var names = request.Services.Select((n, i) => Names.Require(n, $"services[{i}]", "service name")).ToList();
        DescribeAnswers.Fill(names.Select(n => (n, state.DescribeService(cluster, n))), v => ServiceMapper.ToContract(v), response.Services, response.Failures,
            name => $"service \"{name}\" does not exist in cluster \"{cluster}\"");

        return Task.FromResult(response);
    }

    public override Task<ListServicesResponse> ListServices(ListServicesRequest request, ServerCallContext context)
    {
        bool? daemon = request.SchedulingStrategy switch
        {
            "" => null,
            "REPLICA" => false,
            "DAEMON" => true,
            _ => throw RequestException.Invalid("schedulingStrategy", $"must be \"REPLICA\" or \"DAEMON\", not \"{Echo.Clip(request.SchedulingStrategy)}\""),
        };
        var (page, next) = Paging.Page(state.ListServices(Names.Cluster(request.Cluster), daemon), n => n, request.MaxResults, request.NextToken);
        var response = new ListServicesResponse { NextToken = next };
        response.ServiceNames.AddRange(page);
        return Task.FromResult(response);
    }
}
