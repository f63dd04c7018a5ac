using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.LoadBalancing;

namespace Orchestrator.Scheduler.Tests.LoadBalancing;

/// <summary>Records for the load-balancing tables: services, tasks and target groups as the state holds them.</summary>
internal static class LoadBalancingFixtures
{
    public static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    public static TargetGroupRecord Group(string name, int port = 8080) =>
        new(name, TargetProtocol.Http, port, TargetHealthCheck.Default(TargetProtocol.Http), 30, Now.AddHours(-1));

    public static DeploymentRecord Deployment(string id, double? scale = null) =>
        new(id, "web:1", DeploymentStatus.Primary, RolloutState.Completed, "", 0, Now.AddHours(-1), Now.AddHours(-1), Scale: scale);

    public static ServiceRecord Service(string name, bool external = false, string[]? groups = null, params DeploymentRecord[] deployments) => new()
    {
        Cluster = "default",
        Name = name,
        DesiredCount = 3,
        Strategies = [],
        Constraints = [],
        Deployments = deployments.Length == 0 ? [Deployment("d1")] : deployments,
        CreatedAt = Now.AddHours(-1),
        External = external,
        LoadBalancers = [.. (groups ?? ["tg"]).Select(g => new LoadBalancerSpec(g, "app", 80))],
    };

    /// <param name="port">The host port "app" publishes container port 80 on (0: none).</param>
    public static TaskRecord Task(
        string id,
        string service = "web",
        TaskState last = TaskState.Running,
        TaskState desired = TaskState.Running,
        HealthState health = HealthState.Unknown,
        int port = 49153,
        string bindIp = "",
        string deployment = "d1",
        DateTimeOffset? drainUntil = null,
        string node = "n1") => new()
        {
            Id = id,
            Cluster = "default",
            TaskDefinitionArn = "web:1",
            Family = "web",
            Revision = 1,
            Node = node,
            LastStatus = last,
            DesiredStatus = desired,
            Containers = [new ContainerRecord("app", "busybox", true, last, port == 0 ? [] : [new PortBinding(80, port, Protocol.Tcp, bindIp)], Health: health)],
            Group = $"service:{service}",
            Service = service,
            Deployment = deployment,
            Cpu = 1,
            Memory = 1,
            CreatedAt = Now.AddMinutes(-5),
            Health = health,
            DrainUntil = drainUntil,
        };

    public static BalancedTask On(TaskRecord task, string host = "10.0.0.1", bool advertised = false, bool healthChecked = false) =>
        new(task, host, advertised, healthChecked);
}
