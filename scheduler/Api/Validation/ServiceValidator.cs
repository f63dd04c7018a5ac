using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

internal static class ServiceValidator
{
    public const int MaxDesiredCount = 10_000;

    public static ServiceDefinition Validate(Contract.CreateServiceRequest request)
    {
        var cluster = Names.Cluster(request.Cluster);
        var name = Names.Require(request.ServiceName, "serviceName", "service name");
        var external = External(request.DeploymentController);

        // An EXTERNAL service's task sets name their task definitions; one given here is only checked.
        var reference = external && request.TaskDefinition.Length == 0 ? "" : Names.TaskDefinitionReference(request.TaskDefinition);
        CheckDesiredCount(request.DesiredCount);
        var daemon = request.SchedulingStrategy switch
        {
            "" or "REPLICA" => false,
            "DAEMON" => true,
            _ => throw RequestException.Invalid("schedulingStrategy", $"must be \"REPLICA\" or \"DAEMON\", not \"{Echo.Clip(request.SchedulingStrategy)}\""),
        };
        if (daemon && external)
        {
            throw RequestException.Invalid("deploymentController.type", "a DAEMON service rolls out with the ECS controller: task sets (EXTERNAL) need the REPLICA strategy");
        }

        if (external && request.Overrides is not null)
        {
            throw RequestException.Invalid("overrides", "an EXTERNAL service's tasks run as its task sets define them: it takes no overrides");
        }

        if (daemon && request.DesiredCount != 0)
        {
            throw RequestException.Invalid("desiredCount", "a DAEMON service runs one task on every node; leave desiredCount out");
        }

        if (daemon && request.PlacementStrategy.Count > 0)
        {
            throw RequestException.Invalid("placementStrategy", "a DAEMON service takes no placement strategy");
        }
        // DAEMON services replace in place, node by node (ECS's defaults for them: 0 and 100).
        var (min, max) = request.SchedulingStrategy == "DAEMON" ? Percents(request.DeploymentConfiguration, 0, 100) : Percents(request.DeploymentConfiguration, 100, 200);
        if (request.HealthCheckGracePeriodSeconds is < 0 or > 86_400)
        {
            throw RequestException.Invalid("healthCheckGracePeriodSeconds", $"must be between 0 and 86400, not {request.HealthCheckGracePeriodSeconds}");
        }

        // Parsed here only to refuse bad ones now; the service keeps them as given.
        RunTaskValidator.Strategies(request.PlacementStrategy);
        RunTaskValidator.Constraints(request.PlacementConstraints);
        return new ServiceDefinition(
            cluster,
            name,
            reference,
            request.DesiredCount,
            [.. request.PlacementStrategy.Select(s => new StrategySpec(s.Type, s.Field))],
            [.. request.PlacementConstraints.Select(c => new ConstraintSpec(c.Type, c.Expression))],
            min,
            max,
            request.HealthCheckGracePeriodSeconds,
            request.DeploymentConfiguration?.DeploymentCircuitBreaker?.Enable == true,
            request.DeploymentConfiguration?.DeploymentCircuitBreaker?.Rollback == true,
            daemon,
            TagValidator.Validate(request.Tags),
            Propagation(request.PropagateTags) ?? TagPropagation.None,
            OverrideValidator.Validate(request.Overrides),
            LoadBalancerValidator.Validate(request.LoadBalancers),
            external);
    }

    /// <summary>The deployment controller: ECS (absent or empty too: rolling deployments) or EXTERNAL (task sets); true for EXTERNAL.</summary>
    public static bool External(Contract.DeploymentController? controller) => controller?.Type switch
    {
        null or "" or "ECS" => false,
        "EXTERNAL" => true,
        var other => throw RequestException.Invalid("deploymentController.type", $"must be \"ECS\" or \"EXTERNAL\", not \"{Echo.Clip(other)}\""),
    };

    public static ServiceUpdate Validate(Contract.UpdateServiceRequest request)
    {
        var cluster = Names.Cluster(request.Cluster);
        var name = Names.Require(request.Service, "service", "service name");
        if (request.HasDesiredCount)
        {
            CheckDesiredCount(request.DesiredCount);
        }

        int? min = null, max = null;
        if (request.DeploymentConfiguration is { } configuration)
        {
            (var newMin, var newMax) = Percents(configuration, -1, -1);
            min = newMin < 0 ? null : newMin;
            max = newMax < 0 ? null : newMax;
        }

        return new ServiceUpdate(
            cluster,
            name,
            request.HasDesiredCount ? request.DesiredCount : null,
            request.TaskDefinition.Length > 0 ? Names.TaskDefinitionReference(request.TaskDefinition) : null,
            min,
            max,
            request.DeploymentConfiguration?.DeploymentCircuitBreaker?.Enable,
            request.DeploymentConfiguration?.DeploymentCircuitBreaker?.Rollback,
            request.ForceNewDeployment,
            request.ResetPlacement || request.PlacementStrategy.Count > 0 ? Specs(request.PlacementStrategy) : null,
            request.ResetPlacement || request.PlacementConstraints.Count > 0 ? Specs(request.PlacementConstraints) : null,
            Propagation(request.PropagateTags),
            OverrideValidator.Validate(request.Overrides),
            request.ResetOverrides);
    }

    private static List<StrategySpec> Specs(IReadOnlyList<Contract.PlacementStrategy> strategies)
    {
        RunTaskValidator.Strategies(strategies);
        return [.. strategies.Select(s => new StrategySpec(s.Type, s.Field))];
    }

    private static List<ConstraintSpec> Specs(IReadOnlyList<Contract.PlacementConstraint> constraints)
    {
        RunTaskValidator.Constraints(constraints);
        return [.. constraints.Select(c => new ConstraintSpec(c.Type, c.Expression))];
    }

    /// <summary>ECS's propagateTags; empty is null (keep, or NONE on create).</summary>
    private static TagPropagation? Propagation(string value) => value switch
    {
        "" => null,
        "NONE" => TagPropagation.None,
        "TASK_DEFINITION" => TagPropagation.TaskDefinition,
        "SERVICE" => TagPropagation.Service,
        _ => throw RequestException.Invalid("propagateTags", $"must be \"SERVICE\", \"TASK_DEFINITION\" or \"NONE\", not \"{Echo.Clip(value)}\""),
    };

    private static void CheckDesiredCount(int count)
    {
        if (count is < 0 or > MaxDesiredCount)
        {
            throw RequestException.Invalid("desiredCount", $"must be between 0 and {MaxDesiredCount}, not {count}");
        }
    }

    private static (int Min, int Max) Percents(Contract.DeploymentConfiguration? configuration, int defaultMin, int defaultMax)
    {
        var min = configuration?.HasMinimumHealthyPercent == true ? configuration.MinimumHealthyPercent : defaultMin;
        var max = configuration?.HasMaximumPercent == true ? configuration.MaximumPercent : defaultMax;
        if (configuration?.HasMinimumHealthyPercent == true && min is < 0 or > 100)
        {
            throw RequestException.Invalid("deploymentConfiguration.minimumHealthyPercent", $"must be between 0 and 100, not {min}");
        }

        if (configuration?.HasMaximumPercent == true && max is < 100 or > 200)
        {
            throw RequestException.Invalid("deploymentConfiguration.maximumPercent", $"must be between 100 and 200, not {max}");
        }

        if (min >= 0 && max >= 0 && max - min < 1 && min == 100)
        {
            throw RequestException.Invalid("deploymentConfiguration", "minimumHealthyPercent 100 with maximumPercent 100 leaves no room to replace a task");
        }

        return (min, max);
    }
}
