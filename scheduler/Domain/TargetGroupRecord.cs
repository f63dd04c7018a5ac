namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// A target group (ELB's): the balancers listen on <see cref="Port"/> for it and spread its traffic over
/// the targets the scheduler derives from the services that name it. Only the group is stored: its
/// targets are a function of the tasks (see the load-balancing subscribers), so nothing about them can
/// be half-written.
/// </summary>
internal sealed record TargetGroupRecord(
    string Name,
    TargetProtocol Protocol,
    int Port,
    TargetHealthCheck HealthCheck,
    int DeregistrationDelaySeconds,
    DateTimeOffset CreatedAt)
{
    /// <summary>
    /// Ours is 30 s, not ELB's 300 s: the services here are mostly internal HTTP and RPC whose requests
    /// end within seconds, and a task is stopped as soon as the balancers report no connection left to
    /// it, so the delay only bounds how long a slow or idle keep-alive connection may hold a deployment.
    /// It matches Kubernetes' default termination grace period; up to 3600 s may be asked for.
    /// </summary>
    public const int DefaultDeregistrationDelaySeconds = 30;

    public TimeSpan DeregistrationDelay => TimeSpan.FromSeconds(DeregistrationDelaySeconds);
}

internal enum TargetProtocol
{
    Http = 1,
    Tcp = 2,
}

/// <summary>How the balancers check a target: HTTP GET of <see cref="Path"/> answered with a status in <see cref="Matcher"/>, or a TCP connect.</summary>
internal sealed record TargetHealthCheck(
    TargetProtocol Protocol,
    string Path,
    string Matcher,
    int IntervalSeconds,
    int TimeoutSeconds,
    int HealthyThreshold,
    int UnhealthyThreshold)
{
    public static TargetHealthCheck Default(TargetProtocol protocol) => new(protocol, "/", "200", 5, 2, 2, 2);
}

/// <summary>A service's registration in a target group, as ECS's loadBalancers entry.</summary>
internal sealed record LoadBalancerSpec(string TargetGroup, string ContainerName, int ContainerPort);
