using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class ClusterMapper
{
    /// <param name="deleted">The answer of DeleteCluster: the cluster is gone, INACTIVE as ECS shows it.</param>
    public static Contract.Cluster ToContract(ClusterView view, bool deleted = false)
    {
        var cluster = new Contract.Cluster
        {
            Name = view.Cluster.Name,
            Status = deleted ? "INACTIVE" : "ACTIVE",
            RegisteredNodes = view.RegisteredNodes,
            ConnectedNodes = view.ConnectedNodes,
            RunningTasks = view.RunningTasks,
            PendingTasks = view.PendingTasks,
            ActiveServices = view.ActiveServices,
            CreatedAt = Timestamps.From(view.Cluster.CreatedAt),
        };
        cluster.Tags.AddRange(TagMapper.ToContract(view.Cluster.Tags));
        return cluster;
    }
}
