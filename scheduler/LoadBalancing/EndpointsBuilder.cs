using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// A service's endpoints for discovery without a balancer (ListServiceEndpoints): each RUNNING task with
/// desired RUNNING times each port binding it publishes, at its node's address, with its health: the
/// container health check's and, for a service behind target groups, the balancers' (UNHEALTHY when
/// either finds it unhealthy; HEALTHY when its containers are healthy or have no check and every group's
/// balancers find it healthy; UNKNOWN otherwise). A pure function of the service, its tasks and the verdicts.
/// </summary>
internal static class EndpointsBuilder
{
    public const string Healthy = "HEALTHY";
    public const string Unhealthy = "UNHEALTHY";
    public const string Unknown = "UNKNOWN";

    /// <param name="verdictOf">The balancers' verdict on a task in a target group.</param>
    /// <param name="healthyOnly">Only HEALTHY endpoints, and the UNKNOWN ones of tasks that nothing checks.</param>
    public static IReadOnlyList<Contract.ServiceEndpoint> Build(BalancedService service, Func<string, string, TargetVerdict> verdictOf, bool healthyOnly)
    {
        var endpoints = new List<Contract.ServiceEndpoint>();
        foreach (var task in service.Tasks.OrderBy(t => t.Task.Id, StringComparer.Ordinal))
        {
            var t = task.Task;
            if (t.LastStatus != TaskState.Running || t.DesiredStatus != TaskState.Running)
            {
                continue;
            }

            var health = HealthOf(task, service.Service.LoadBalancers.Select(lb => verdictOf(lb.TargetGroup, t.Id)).ToList());
            var nothingChecks = !task.HealthChecked && service.Service.LoadBalancers.Count == 0;
            if (healthyOnly && health != Healthy && !(health == Unknown && nothingChecks))
            {
                continue;
            }

            foreach (var container in t.Containers.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                // Docker may list one published port twice (its 0.0.0.0 and :: bindings): one endpoint each.
                var seen = new HashSet<(string, int, Protocol)>();
                foreach (var binding in container.Bindings.Where(b => b.HostPort > 0).OrderBy(b => b.ContainerPort).ThenBy(b => b.Protocol))
                {
                    var host = NodeAddress.ForBinding(task.NodeHost, task.Advertised, binding.BindIp);
                    if (host.Length == 0 || !seen.Add((host, binding.HostPort, binding.Protocol)))
                    {
                        continue;
                    }

                    endpoints.Add(new Contract.ServiceEndpoint
                    {
                        TaskId = t.Id,
                        Node = t.Node,
                        Host = host,
                        Port = binding.HostPort,
                        ContainerName = container.Name,
                        ContainerPort = binding.ContainerPort,
                        Protocol = binding.Protocol == Protocol.Udp ? "udp" : "tcp",
                        Health = health,
                        TaskSet = t.Deployment,
                    });
                }
            }
        }

        return endpoints;
    }

    /// <param name="verdicts">The balancers' verdict in each of the service's target groups (none without load balancers).</param>
    public static string HealthOf(BalancedTask task, IReadOnlyList<TargetVerdict> verdicts)
    {
        var own = task.Task.Health;
        if (own == HealthState.Unhealthy || verdicts.Contains(TargetVerdict.Unhealthy))
        {
            return Unhealthy;
        }

        var containersOk = task.HealthChecked ? own == HealthState.Healthy : own != HealthState.Unhealthy;
        if (verdicts.Count == 0)
        {
            return own == HealthState.Healthy ? Healthy : Unknown;
        }

        return containersOk && verdicts.All(v => v == TargetVerdict.Healthy) ? Healthy : Unknown;
    }
}
