using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// DescribeTargetHealth's answer for one target, as ELB's: DRAINING while its task's stop drains it;
/// else the balancers' verdict (HEALTHY, UNHEALTHY, INITIAL), UNAVAILABLE when no balancer can say
/// (none serves the group, or those that do report it FAILED), with ELB's reason codes.
/// </summary>
internal static class TargetHealthDescriptions
{
    public const string ResponseCodeMismatch = "Target.ResponseCodeMismatch";
    public const string FailedHealthChecks = "Target.FailedHealthChecks";
    public const string RegistrationInProgress = "Elb.RegistrationInProgress";
    public const string DeregistrationInProgress = "Target.DeregistrationInProgress";
    public const string InternalError = "Elb.InternalError";

    /// <param name="served">A connected balancer serves the target's group (it may not have applied the target yet).</param>
    public static Contract.TargetHealthDescription Describe(DerivedTarget target, TargetObservation observation, bool served) => new()
    {
        Target = new Contract.Target
        {
            Id = target.TaskId,
            Cluster = target.Cluster,
            Service = target.Service,
            Node = target.Node,
            Host = target.Host,
            Port = target.Port,
            TaskSet = target.TaskSet,
        },
        Health = HealthOf(target.Draining, observation, served),
        Weight = target.Weight,
        CurrentConnections = observation.Connections,
    };

    public static Contract.TargetHealth HealthOf(bool draining, TargetObservation observation, bool served)
    {
        if (draining)
        {
            return Health("DRAINING", DeregistrationInProgress, observation.Description);
        }

        return observation.Verdict switch
        {
            TargetVerdict.Healthy => Health("HEALTHY", "", observation.Description),
            TargetVerdict.Unhealthy => Health("UNHEALTHY", WrongStatus(observation.Description) ? ResponseCodeMismatch : FailedHealthChecks, observation.Description),
            TargetVerdict.Initial => Health("INITIAL", RegistrationInProgress, observation.Description),
            _ when observation.Failed => Health("UNAVAILABLE", InternalError, "the balancers serving the target group report it FAILED"),
            _ when served => Health("INITIAL", RegistrationInProgress, "not yet applied by the balancers"),
            _ => Health("UNAVAILABLE", "", "no connected balancer serves the target group"),
        };
    }

    /// <summary>HAProxy's word for a check answered with a status the matcher does not take ("L7STS", "Layer7 wrong status").</summary>
    public static bool WrongStatus(string description) =>
        description.Contains("L7STS", StringComparison.OrdinalIgnoreCase) || description.Contains("wrong status", StringComparison.OrdinalIgnoreCase);

    private static Contract.TargetHealth Health(string state, string reason, string description) => new() { State = state, Reason = reason, Description = description };
}
