using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.LoadBalancing;

namespace Orchestrator.Scheduler.State;

/// <summary>What the load-balancing parts read: the services with load balancers and their tasks, with their nodes' addresses.</summary>
internal sealed partial class ClusterState
{
    /// <summary>
    /// The target groups and every service that names target groups with its tasks that are not STOPPED,
    /// read together under the lock at <paramref name="version"/> (the feed's version then).
    /// </summary>
    public LoadBalancingInputs LoadBalancing(out long version)
    {
        lock (_gate)
        {
            version = _feed.Version;
            return new LoadBalancingInputs(
                [.. _targetGroups.Values],
                [.. _services.Values.Where(s => s.LoadBalancers.Count > 0).OrderBy(s => s.Key, StringComparer.Ordinal).Select(BalancedLocked)],
                Now);
        }
    }

    /// <summary>One service with its tasks that are not STOPPED, for its endpoints. NOT_FOUND naming the request's field.</summary>
    public BalancedService BalancedService(string cluster, string name, (string Cluster, string Service) fields, out long version, out DateTimeOffset now)
    {
        lock (_gate)
        {
            RequireCluster(cluster, fields.Cluster);
            var service = _services.TryGetValue(ServiceRecord.KeyOf(cluster, name), out var found)
                ? found
                : throw RequestException.NotFound(fields.Service, $"service \"{name}\" does not exist in cluster \"{cluster}\"");
            version = _feed.Version;
            now = Now;
            return BalancedLocked(service);
        }
    }

    /// <summary>Whether the service exists now (a watcher's service deleted ends its watch).</summary>
    public bool ServiceExists(string cluster, string name)
    {
        lock (_gate)
        {
            return _services.ContainsKey(ServiceRecord.KeyOf(cluster, name));
        }
    }

    private BalancedService BalancedLocked(ServiceRecord service) =>
        new(service, [.. TasksOf(service).Where(t => t.LastStatus != TaskState.Stopped).OrderBy(t => t.Id, StringComparer.Ordinal).Select(BalancedLocked)]);

    private BalancedTask BalancedLocked(TaskRecord task)
    {
        var node = _nodes.GetValueOrDefault(NodeRecord.KeyOf(task.Cluster, task.Node));
        var attributes = node?.Record.Attributes ?? Domain.Tags.None;
        var advertised = attributes.TryGetValue(NodeAddress.Attribute, out var address) && address.Length > 0;
        var healthChecked = _families.TryGetValue(task.Family, out var family) && family.Revisions.TryGetValue(task.Revision, out var definition)
            && definition.Spec.ContainerDefinitions.Any(c => (!c.HasEssential || c.Essential) && c.HealthCheck is { Command.Count: > 0 });
        return new BalancedTask(task, NodeAddress.Of(attributes, node?.Record.PeerAddress ?? ""), advertised, healthChecked);
    }
}
