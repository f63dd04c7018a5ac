using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api;

internal sealed class ClusterApi(ClusterState state) : ClusterService.ClusterServiceBase
{
    public override Task<CreateClusterResponse> CreateCluster(CreateClusterRequest request, ServerCallContext context)
    {
        var name = Names.Require(request.Name, "name", "cluster name");
        var tags = TagValidator.Validate(request.Tags);
        return Task.FromResult(new CreateClusterResponse { Cluster = ClusterMapper.ToContract(state.CreateCluster(name, tags)) });
    }

    public override Task<DescribeClustersResponse> DescribeClusters(DescribeClustersRequest request, ServerCallContext context)
    {
        Limits.Count(request.Names, Limits.MaxDescribe, "names");
        var names = request.Names.Count == 0 ? [Domain.ClusterRecord.DefaultName] : request.Names.Select((n, i) => Names.Cluster(n, $"names[{i}]")).ToList();
        var response = new DescribeClustersResponse();
        DescribeAnswers.Fill(names.Distinct(StringComparer.Ordinal).Select(n => (n, state.DescribeCluster(n))), v => ClusterMapper.ToContract(v), response.Clusters, response.Failures,
            name => $"cluster \"{name}\" does not exist");

        return Task.FromResult(response);
    }

    public override Task<ListClustersResponse> ListClusters(ListClustersRequest request, ServerCallContext context)
    {
        var (page, next) = Paging.Page(state.ClusterNames(), n => n, request.MaxResults, request.NextToken);
        var response = new ListClustersResponse { NextToken = next };
        response.Names.AddRange(page);
        return Task.FromResult(response);
    }

    public override Task<DeleteClusterResponse> DeleteCluster(DeleteClusterRequest request, ServerCallContext context)
    {
        var name = Names.Require(request.Name, "name", "cluster name");
        return Task.FromResult(new DeleteClusterResponse { Cluster = ClusterMapper.ToContract(state.DeleteCluster(name), deleted: true) });
    }
}
