using Google.Protobuf.Collections;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// A service's load balancers (ECS's loadBalancers): their form here, and whether they fit the target
/// groups that exist and the task definition the service runs (<see cref="RequireFit"/>, under the
/// state's lock, where both are known).
/// </summary>
internal static class LoadBalancerValidator
{
    /// <summary>As ECS: at most 5 per service.</summary>
    public const int MaxPerService = 5;

    public static IReadOnlyList<LoadBalancerSpec> Validate(RepeatedField<Contract.LoadBalancer> loadBalancers)
    {
        if (loadBalancers.Count > MaxPerService)
        {
            throw RequestException.Invalid("loadBalancers", $"at most {MaxPerService} load balancers per service, not {loadBalancers.Count}");
        }

        var specs = new List<LoadBalancerSpec>(loadBalancers.Count);
        for (var i = 0; i < loadBalancers.Count; i++)
        {
            var field = $"loadBalancers[{i}]";
            var balancer = loadBalancers[i];
            var targetGroup = TargetGroupValidator.Name(balancer.TargetGroup, field + ".targetGroup");
            if (specs.FindIndex(s => s.TargetGroup == targetGroup) is var earlier and >= 0)
            {
                throw RequestException.Invalid(field + ".targetGroup", $"target group \"{targetGroup}\" is named already by loadBalancers[{earlier}]: a service registers in a target group once");
            }

            if (balancer.ContainerName.Length == 0)
            {
                throw RequestException.Invalid(field + ".containerName", "is required: the container whose port is registered");
            }

            var container = Names.Text(balancer.ContainerName, field + ".containerName", Names.MaxLength);
            if (balancer.ContainerPort is < 1 or > 65535)
            {
                throw RequestException.Invalid(field + ".containerPort", $"must be between 1 and 65535, not {balancer.ContainerPort}");
            }

            specs.Add(new LoadBalancerSpec(targetGroup, container, balancer.ContainerPort));
        }

        return specs;
    }

    /// <summary>
    /// Refuses load balancers naming a target group that does not exist, or a container or port the
    /// task definition does not map (when there is one: an EXTERNAL service may have none yet).
    /// </summary>
    public static void RequireFit(IReadOnlyList<LoadBalancerSpec> specs, Func<string, bool> targetGroupExists, TaskDefinitionEntry? definition)
    {
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            if (!targetGroupExists(spec.TargetGroup))
            {
                throw RequestException.Invalid($"loadBalancers[{i}].targetGroup", $"target group \"{spec.TargetGroup}\" does not exist");
            }

            if (definition is not null && Misfit(spec, definition) is { } misfit)
            {
                throw RequestException.Invalid($"loadBalancers[{i}].{misfit.Field}", misfit.Problem);
            }
        }
    }

    /// <summary>A new task definition for a service with load balancers must still map each of their ports.</summary>
    public static void RequireFit(IReadOnlyList<LoadBalancerSpec> specs, TaskDefinitionEntry definition, string field = "taskDefinition")
    {
        for (var i = 0; i < specs.Count; i++)
        {
            if (Misfit(specs[i], definition) is { } misfit)
            {
                throw RequestException.Invalid(field, $"does not fit the service's loadBalancers[{i}] (target group \"{specs[i].TargetGroup}\"): {misfit.Problem}");
            }
        }
    }

    /// <summary>Why the definition cannot serve the load balancer: no such container, or no TCP port mapping of that container port.</summary>
    public static (string Field, string Problem)? Misfit(LoadBalancerSpec spec, TaskDefinitionEntry definition)
    {
        var arn = definition.Record.Arn;
        var container = definition.Spec.ContainerDefinitions.FirstOrDefault(c => c.Name == spec.ContainerName);
        if (container is null)
        {
            return ("containerName", $"task definition {arn} has no container \"{Echo.Clip(spec.ContainerName)}\"; its containers: {string.Join(", ", definition.Spec.ContainerDefinitions.Select(c => c.Name))}");
        }

        var tcpPorts = container.PortMappings.Where(p => p.Protocol != Contract.TransportProtocol.Udp).Select(p => p.ContainerPort).Distinct().ToList();
        if (!tcpPorts.Contains(spec.ContainerPort))
        {
            return ("containerPort", tcpPorts.Count == 0
                ? $"container \"{spec.ContainerName}\" of task definition {arn} maps no TCP port; add a portMapping with containerPort {spec.ContainerPort}"
                : $"container \"{spec.ContainerName}\" of task definition {arn} maps no TCP containerPort {spec.ContainerPort}; it maps {string.Join(", ", tcpPorts)}");
        }

        return null;
    }
}
