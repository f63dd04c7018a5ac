using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Services;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Task sets of services with the EXTERNAL deployment controller: each change is committed and the
/// service reconciled at once (<see cref="TaskSetReconciler"/> starts and stops their tasks).
/// </summary>
internal sealed partial class ClusterState
{
    public TaskSetView CreateTaskSet(TaskSetDefinition definition)
    {
        lock (_gate)
        {
            var service = RequireExternal(definition.Cluster, definition.Service, changing: true);
            if (definition.ClientToken.Length > 0 && service.Deployments.FirstOrDefault(d => d.ClientToken == definition.ClientToken) is { } same)
            {
                return new TaskSetView(ViewOf(service), same);
            }

            if (service.Deployments.Count >= TaskSets.MaxPerService)
            {
                throw RequestException.Precondition("service", $"service \"{service.Name}\" has {service.Deployments.Count} task sets, the most it may have; delete one first");
            }

            var taskDefinition = RequireRunnable(definition.TaskDefinition);
            LoadBalancerValidator.RequireFit(service.LoadBalancers, taskDefinition); // its tasks register in the service's target groups
            var arn = taskDefinition.Record.Arn;
            var now = Now;
            var set = TaskSets.New(arn, null, definition.Scale, definition.ExternalId, definition.ClientToken, primary: !TaskSets.HasPrimary(service), now);
            var updated = TaskSets.Add(service, set).WithEvent(now, $"service {service.Name} task set {set.Id} created ({Status(set)}): {arn} at {set.Scale:0.##} %");
            return CommitTaskSet(updated, set.Id, now);
        }
    }

    public TaskSetView UpdateTaskSet(string cluster, string serviceName, string id, double scale)
    {
        lock (_gate)
        {
            var service = RequireExternal(cluster, serviceName, changing: true);
            var set = RequireLiveTaskSet(service, id);
            var now = Now;
            var updated = TaskSets.Replace(service, set with { Scale = scale, UpdatedAt = now })
                .WithEvent(now, $"service {service.Name} task set {set.Id} scaled from {set.Scale:0.##} % to {scale:0.##} %");
            return CommitTaskSet(updated, set.Id, now);
        }
    }

    /// <summary>The set PRIMARY, the one that was ACTIVE. Nothing is stopped; the same one again changes nothing.</summary>
    public TaskSetView UpdateServicePrimaryTaskSet(string cluster, string serviceName, string id)
    {
        lock (_gate)
        {
            var service = RequireExternal(cluster, serviceName, changing: true);
            var set = RequireLiveTaskSet(service, id, "primaryTaskSet");
            if (set.Status == DeploymentStatus.Primary)
            {
                return new TaskSetView(ViewOf(service), set);
            }

            var now = Now;
            var updated = TaskSets.MakePrimary(service, set.Id, now).WithEvent(now, $"service {service.Name} task set {set.Id} is now the PRIMARY one");
            return CommitTaskSet(updated, set.Id, now);
        }
    }

    /// <summary>
    /// The set DRAINING: its tasks stop (drained first, as every stop is) and it goes once none of them
    /// lives. The PRIMARY one only with force. A set already draining is answered as it is.
    /// </summary>
    public TaskSetView DeleteTaskSet(string cluster, string serviceName, string id, bool force)
    {
        lock (_gate)
        {
            var service = RequireExternal(cluster, serviceName, changing: false);
            var set = RequireTaskSet(service, id);
            if (set.Status == DeploymentStatus.Draining)
            {
                return new TaskSetView(ViewOf(service), set);
            }

            if (set.Status == DeploymentStatus.Primary && !force)
            {
                throw RequestException.Precondition("taskSet", $"task set \"{id}\" is the PRIMARY one of service \"{service.Name}\"; make another one primary first (UpdateServicePrimaryTaskSet), or delete with force");
            }

            var now = Now;
            var draining = set with { Status = DeploymentStatus.Draining, UpdatedAt = now };
            var updated = TaskSets.Replace(service, draining).WithEvent(now, $"service {service.Name} task set {set.Id} is deleted: its tasks are stopping");
            return CommitTaskSet(updated, set.Id, now);
        }
    }

    /// <summary>The service's task sets, all of them or those asked for (null for one not found).</summary>
    public (ServiceView Service, IReadOnlyList<(string Id, DeploymentRecord? Set)> Sets) DescribeTaskSets(string cluster, string serviceName, IReadOnlyList<string> ids)
    {
        lock (_gate)
        {
            var service = RequireExternal(cluster, serviceName, changing: false);
            IReadOnlyList<(string, DeploymentRecord?)> sets = ids.Count == 0
                ? [.. service.Deployments.Select(d => (d.Id, (DeploymentRecord?)d))]
                : [.. ids.Select(id => (id, TaskSets.Find(service, id)))];
            return (ViewOf(service), sets);
        }
    }

    /// <summary>
    /// Commits the changed record and reconciles it at once. Answers the set as the pass left it, or,
    /// when the pass removed it (a deleted set none of whose tasks lived), as it was committed.
    /// </summary>
    private TaskSetView CommitTaskSet(ServiceRecord updated, string id, DateTimeOffset now)
    {
        var batch = new WriteBatch();
        batch.Services.Add(updated);
        Commit(batch);
        ReconcileLocked(_services[updated.Key], now);
        var service = _services[updated.Key];
        return new TaskSetView(ViewOf(service), TaskSets.Find(service, id) ?? TaskSets.Find(updated, id)!);
    }

    private ServiceRecord RequireExternal(string cluster, string name, bool changing)
    {
        var service = RequireService(cluster, name);
        if (!service.External)
        {
            throw RequestException.Precondition("service", $"service \"{name}\" uses the ECS deployment controller; task sets need the EXTERNAL one (deploymentController.type EXTERNAL)");
        }

        if (changing && service.Deleting)
        {
            throw RequestException.Precondition("service", $"service \"{name}\" is being deleted");
        }

        return service;
    }

    private static DeploymentRecord RequireTaskSet(ServiceRecord service, string id, string field = "taskSet") =>
        TaskSets.Find(service, id) ?? throw RequestException.NotFound(field, $"task set \"{id}\" does not exist in service \"{service.Name}\"");

    private static DeploymentRecord RequireLiveTaskSet(ServiceRecord service, string id, string field = "taskSet")
    {
        var set = RequireTaskSet(service, id, field);
        return set.Status == DeploymentStatus.Draining
            ? throw RequestException.Precondition(field, $"task set \"{id}\" is DRAINING (deleted); it can no longer change")
            : set;
    }

    private static string Status(DeploymentRecord set) => TaskSets.StatusName(set.Status);
}
