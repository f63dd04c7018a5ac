using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Services with the EXTERNAL deployment controller: the ECS controller's pass never runs for them
/// (their deployments are the task sets the user creates, and an EXTERNAL service may have none).
/// </summary>
internal sealed partial class ClusterState
{
    /// <summary>
    /// The EXTERNAL service's pass. Without task sets this only removes a deleted service once none of
    /// its tasks is left; the task sets' reconciler (starting and stopping each set's tasks) builds on it.
    /// </summary>
    private void ReconcileExternalLocked(ServiceRecord service)
    {
        if (service.Deleting && TasksOf(service).All(t => t.LastStatus == TaskState.Stopped))
        {
            var batch = new WriteBatch();
            batch.DeletedServices.Add(service.Key);
            Commit(batch);
        }
    }
}
