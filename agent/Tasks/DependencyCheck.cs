using System.Globalization;
using Orchestrator.Agent.Runtime;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tasks;

internal enum DependencyOutcome
{
    Met,
    Waiting,
    Never,
}

/// <param name="Reason">Never: why it cannot be met (the task's stopped reason). Waiting: what is awaited.</param>
/// <param name="Deadline">Waiting on a started container's condition: when that container's startTimeout runs out.</param>
internal readonly record struct DependencyVerdict(DependencyOutcome Outcome, string Reason = "", DateTimeOffset? Deadline = null)
{
    public static readonly DependencyVerdict Met = new(DependencyOutcome.Met);
}

/// <summary>
/// Whether a created container may start, given its dependsOn and links and what the task's other
/// containers have done (ECS's conditions). Pure: the supervisor asks again after every event.
/// </summary>
/// <remarks>
/// START is met while the other container runs; once it has exited before this one started it can no
/// longer be (a link to a stopped container fails too). COMPLETE is met when it has exited, SUCCESS when
/// it has exited 0, HEALTHY while it runs and its health check says healthy. An unhealthy container may
/// still turn healthy (Docker keeps checking), so HEALTHY waits on, as on ECS, until the startTimeout.
/// As ECS's, the startTimeout is the other container's: how long, from its (last) start, it may take to
/// complete, succeed or become healthy. A container that has not started yet waits for its own
/// dependencies, which are bounded the same way.
/// </remarks>
internal static class DependencyCheck
{
    public static DependencyVerdict Evaluate(AgentContainer container, IReadOnlyList<AgentContainer> task, DateTimeOffset now)
    {
        var verdict = DependencyVerdict.Met;
        foreach (var dependency in container.Rules.DependsOn)
        {
            var one = Evaluate(container.Name, dependency, task.FirstOrDefault(c => c.Name == dependency.Container), now);
            if (one.Outcome == DependencyOutcome.Never)
            {
                return one;
            }

            if (one.Outcome == DependencyOutcome.Waiting && (verdict.Outcome == DependencyOutcome.Met || Earlier(one.Deadline, verdict.Deadline)))
            {
                verdict = one;
            }
        }

        return verdict;
    }

    private static DependencyVerdict Evaluate(string dependent, StartDependency dependency, AgentContainer? target, DateTimeOffset now)
    {
        var what = $"container \"{dependent}\" dependsOn \"{dependency.Container}\" {dependency.Condition}";
        if (target is null)
        {
            return Never($"{what}: the task has no such container");
        }

        var exited = target.HasStarted && target.Status == TaskStatus.Stopped;
        switch (dependency.Condition)
        {
            case StartDependency.Start:
                return target.Status == TaskStatus.Running ? DependencyVerdict.Met
                    : exited ? Never($"{what}: {target.Name} {Exit(target)} before {dependent} started")
                    : new DependencyVerdict(DependencyOutcome.Waiting, $"{target.Name} has not started");
            case StartDependency.Complete when exited:
                return DependencyVerdict.Met;
            case StartDependency.Success when exited:
                return target.ExitCode == 0 ? DependencyVerdict.Met : Never($"{what}: {target.Name} {Exit(target)}");
            case StartDependency.Healthy when !target.Rules.HasHealthCheck:
                return Never($"{what}: {target.Name} has no health check");
            case StartDependency.Healthy when exited:
                return Never($"{what}: {target.Name} {Exit(target)} before it was healthy");
            case StartDependency.Healthy when target.Status == TaskStatus.Running && target.Health == ContainerHealth.Healthy:
                return DependencyVerdict.Met;
            case StartDependency.Complete or StartDependency.Success or StartDependency.Healthy:
                break;
            default:
                return Never($"{what}: unknown condition (START, COMPLETE, SUCCESS or HEALTHY)");
        }

        if (!target.HasStarted)
        {
            return new DependencyVerdict(DependencyOutcome.Waiting, $"{target.Name} has not started");
        }

        var deadline = target.StartedAt!.Value + target.Rules.StartTimeout;
        var state = dependency.Condition == StartDependency.Healthy ? HealthOf(target) : $"{target.Name} is still running";
        if (now >= deadline)
        {
            return Never(string.Create(CultureInfo.InvariantCulture,
                $"{what}: not met within {target.Rules.StartTimeout.TotalSeconds:0} s of {target.Name}'s start (its startTimeout); {state}"));
        }

        return new DependencyVerdict(DependencyOutcome.Waiting, state, deadline);
    }

    private static DependencyVerdict Never(string reason) => new(DependencyOutcome.Never, reason);

    private static bool Earlier(DateTimeOffset? candidate, DateTimeOffset? current) =>
        candidate is { } c && (current is not { } d || c < d);

    private static string Exit(AgentContainer target)
    {
        var detail = target.Reason.Length > 0 ? $", {target.Reason}" : "";
        return target.ExitCode is { } code ? $"exited ({code}{detail})" : $"exited{(detail.Length > 0 ? $" ({detail[2..]})" : "")}";
    }

    private static string HealthOf(AgentContainer target) => target.Health switch
    {
        ContainerHealth.Unhealthy => $"{target.Name} is unhealthy",
        _ => $"{target.Name}'s health check has not passed yet",
    };
}
