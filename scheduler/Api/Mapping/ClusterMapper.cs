using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class ClusterMapper
{
    public static Contract.Cluster ToContract(ClusterView view) => new()
    {
        Name = view.Cluster.Name,
        Status = "ACTIVE",
        RegisteredNodes = view.RegisteredNodes,
        ConnectedNodes = view.ConnectedNodes,
        RunningTasks = view.RunningTasks,
        PendingTasks = view.PendingTasks,
        ActiveServices = view.ActiveServices,
        CreatedAt = Timestamps.From(view.Cluster.CreatedAt),
    };
}
