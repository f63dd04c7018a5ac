using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// Derives every target group's targets from the services that name it and their tasks: a pure function,
/// so that the balancers' assignments, DescribeTargetHealth and the endpoints all say the same thing.
/// <list type="bullet">
/// <item>A task is a target while it is RUNNING with desired RUNNING (and HEALTHY, when its task definition
/// has a container health check), at its node's address and the host port its load balancer's container
/// publishes the container port on.</item>
/// <item>A RUNNING task desired STOPPED whose drain is under way (DrainUntil after now) stays, draining.</item>
/// <item>Anything else (not yet running, stopped, its stop released, no binding, no known address) is none.</item>
/// </list>
/// Each service's weights are worked out on its own (<see cref="TargetWeights"/>), even where several
/// services share a target group.
/// </summary>
internal static class TargetsBuilder
{
    /// <returns>Every target group by name (those without targets too), its targets ordered by task id.</returns>
    public static IReadOnlyDictionary<string, IReadOnlyList<DerivedTarget>> Build(LoadBalancingInputs inputs)
    {
        var byGroup = inputs.TargetGroups.ToDictionary(g => g.Name, _ => new List<DerivedTarget>(), StringComparer.Ordinal);
        foreach (var service in inputs.Services)
        {
            foreach (var spec in service.Service.LoadBalancers)
            {
                if (byGroup.TryGetValue(spec.TargetGroup, out var targets))
                {
                    targets.AddRange(TargetsOf(service, spec, inputs.Now));
                }
            }
        }

        return byGroup.ToDictionary(
            g => g.Key,
            g => (IReadOnlyList<DerivedTarget>)[.. g.Value.DistinctBy(t => t.TaskId).OrderBy(t => t.TaskId, StringComparer.Ordinal)],
            StringComparer.Ordinal);
    }

    /// <summary>Whether the task serves (not draining) or drains, or is no target at all.</summary>
    public static TargetPhase PhaseOf(BalancedTask task, DateTimeOffset now)
    {
        var t = task.Task;
        if (t.LastStatus != TaskState.Running)
        {
            return TargetPhase.None;
        }

        if (t.DesiredStatus == TaskState.Running)
        {
            return !task.HealthChecked || t.Health == HealthState.Healthy ? TargetPhase.Serving : TargetPhase.None;
        }

        return t.DrainUntil > now ? TargetPhase.Draining : TargetPhase.None;
    }

    /// <summary>
    /// Whether the task is a serving target of the group now: the balancers were given it (RUNNING,
    /// healthy where checked, publishing the port, at a known address). Only such a task may be serving
    /// traffic, so only it is held for draining and only its verdict is waited for.
    /// </summary>
    public static bool IsServingTarget(BalancedTask task, LoadBalancerSpec spec, DateTimeOffset now) =>
        PhaseOf(task, now) == TargetPhase.Serving
        && BindingOf(task.Task, spec) is { } binding
        && NodeAddress.ForBinding(task.NodeHost, task.Advertised, binding.BindIp).Length > 0;

    /// <summary>The task's binding of the load balancer's container port, or null when it publishes none.</summary>
    public static PortBinding? BindingOf(TaskRecord task, LoadBalancerSpec spec) =>
        task.Containers
            .Where(c => string.Equals(c.Name, spec.ContainerName, StringComparison.Ordinal))
            .SelectMany(c => c.Bindings)
            .FirstOrDefault(b => b.ContainerPort == spec.ContainerPort && b.Protocol == Protocol.Tcp && b.HostPort > 0);

    private static List<DerivedTarget> TargetsOf(BalancedService service, LoadBalancerSpec spec, DateTimeOffset now)
    {
        var placed = new List<(BalancedTask Task, string Host, int Port, bool Draining)>();
        foreach (var task in service.Tasks)
        {
            var phase = PhaseOf(task, now);
            if (phase == TargetPhase.None || BindingOf(task.Task, spec) is not { } binding)
            {
                continue;
            }

            var host = NodeAddress.ForBinding(task.NodeHost, task.Advertised, binding.BindIp);
            if (host.Length > 0)
            {
                placed.Add((task, host, binding.HostPort, phase == TargetPhase.Draining));
            }
        }

        var record = service.Service;
        IReadOnlyDictionary<string, int>? external = null;
        if (record.External)
        {
            var perSet = placed.Where(p => !p.Draining).GroupBy(p => p.Task.Task.Deployment, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            external = TargetWeights.External(perSet, set => record.Deployments.FirstOrDefault(d => d.Id == set)?.Scale ?? 0);
        }

        return [.. placed.Select(p => new DerivedTarget(
            spec.TargetGroup,
            p.Task.Task.Id,
            p.Host,
            p.Port,
            external is null ? TargetWeights.Ecs : p.Draining ? 0 : external.GetValueOrDefault(p.Task.Task.Deployment),
            p.Draining,
            record.Cluster,
            record.Name,
            p.Task.Task.Node,
            p.Task.Task.Deployment))];
    }
}

internal enum TargetPhase
{
    None,
    Serving,
    Draining,
}
