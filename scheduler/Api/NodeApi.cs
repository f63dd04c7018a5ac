using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api;

internal sealed class NodeApi(ClusterState state) : NodeService.NodeServiceBase
{
    public override Task<ListNodesResponse> ListNodes(ListNodesRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        // As ECS: INACTIVE (deregistered) nodes only when asked for.
        Func<NodeState, bool> wanted;
        if (request.IncludeAllStatuses)
        {
            wanted = _ => true;
        }
        else if (request.Status == NodeStatus.Unspecified)
        {
            wanted = s => s != NodeState.Inactive;
        }
        else
        {
            var only = ToState(request.Status, "status");
            wanted = s => s == only;
        }

        var (page, next) = Paging.Page(state.ListNodes(cluster, wanted), n => n.Record.Name, request.MaxResults, request.NextToken);
        var response = new ListNodesResponse { NextToken = next };
        response.Nodes.AddRange(page.Select(NodeMapper.ToContract));
        return Task.FromResult(response);
    }

    public override Task<DescribeNodesResponse> DescribeNodes(DescribeNodesRequest request, ServerCallContext context)
    {
        var cluster = state.RequireClusterName(Names.Cluster(request.Cluster));
        Limits.Count(request.Names, Limits.MaxDescribe, "names");
        if (request.Names.Count == 0)
        {
            throw RequestException.Invalid("names", "name at least one node");
        }

        var response = new DescribeNodesResponse();
        var names = request.Names.Select((n, i) => Names.Node(n, $"names[{i}]")).ToList();
        DescribeAnswers.Fill(names.Select(n => (n, state.DescribeNode(cluster, n))), v => NodeMapper.ToContract(v), response.Nodes, response.Failures,
            name => $"node \"{name}\" does not exist in cluster \"{cluster}\"");

        return Task.FromResult(response);
    }

    public override Task<UpdateNodeStatusResponse> UpdateNodeStatus(UpdateNodeStatusRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var name = Names.Node(request.Name, "name");
        var status = ToState(request.Status, "status");
        if (status == NodeState.Inactive)
        {
            throw RequestException.Invalid("status", "must be NODE_STATUS_ACTIVE or NODE_STATUS_DRAINING; use DeregisterNode to make a node INACTIVE");
        }

        return Task.FromResult(new UpdateNodeStatusResponse { Node = NodeMapper.ToContract(state.UpdateNodeStatus(cluster, name, status)) });
    }

    public override Task<DeregisterNodeResponse> DeregisterNode(DeregisterNodeRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var name = Names.Node(request.Name, "name");
        return Task.FromResult(new DeregisterNodeResponse { Node = NodeMapper.ToContract(state.DeregisterNode(cluster, name, request.Force)) });
    }

    public override Task<PutAttributesResponse> PutAttributes(PutAttributesRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var put = state.PutAttributes(cluster, AttributeValidator.Validate(request.Attributes, withValues: true));
        var response = new PutAttributesResponse();
        response.Attributes.AddRange(put.Select(ToContract));
        return Task.FromResult(response);
    }

    public override Task<DeleteAttributesResponse> DeleteAttributes(DeleteAttributesRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var deleted = state.DeleteAttributes(cluster, AttributeValidator.Validate(request.Attributes, withValues: false));
        var response = new DeleteAttributesResponse();
        response.Attributes.AddRange(deleted.Select(ToContract));
        return Task.FromResult(response);
    }

    public override Task<ListAttributesResponse> ListAttributes(ListAttributesRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        AttributeValidator.TargetType(request.TargetType, "targetType");
        // Filters are compared, not parsed: the agent's own names need not follow the custom rules.
        var name = Names.Text(request.AttributeName, "attributeName", AttributeValidator.MaxLength);
        var value = Names.Text(request.AttributeValue, "attributeValue", 256);
        if (value.Length > 0 && name.Length == 0)
        {
            throw RequestException.Invalid("attributeValue", "needs attributeName");
        }

        var node = request.TargetId.Length == 0 ? "" : Names.Node(request.TargetId, "targetId");
        var (page, next) = Paging.Page(state.ListAttributes(cluster, name, value, node), a => $"{a.Node}\0{a.Name}", request.MaxResults, request.NextToken);
        var response = new ListAttributesResponse { NextToken = next };
        response.Attributes.AddRange(page.Select(ToContract));
        return Task.FromResult(response);
    }

    private static Contracts.V1.Attribute ToContract(NodeAttribute attribute) =>
        new() { Name = attribute.Name, Value = attribute.Value, TargetType = "node", TargetId = attribute.Node };

    private static NodeState ToState(NodeStatus status, string field) => status switch
    {
        NodeStatus.Active => NodeState.Active,
        NodeStatus.Draining => NodeState.Draining,
        NodeStatus.Inactive => NodeState.Inactive,
        _ => throw RequestException.Invalid(field, $"must be NODE_STATUS_ACTIVE or NODE_STATUS_DRAINING, not {status}"),
    };
}
