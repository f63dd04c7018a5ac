using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>Turns a container definition of a start command into what the runtime creates, as ECS would.</summary>
internal static class ContainerSpecBuilder
{
    public const int DefaultStopTimeoutSeconds = 30;
    private const long MiB = 1024 * 1024;

    /// <param name="hostSources">The host volumes' resolved paths, by volume name (<see cref="TaskEnvironment.PrepareAsync"/>); a volume missing here is bound as the task gave it.</param>
    public static ContainerSpec Build(StartTaskCommand command, ContainerDefinition definition, AgentIdentity identity, IReadOnlyDictionary<string, string>? hostSources = null)
    {
        var task = command.TaskDefinition;
        var ports = command.PortBindings
            .Where(b => b.ContainerName == definition.Name)
            .Select(b => new PortSpec(b.ContainerPort, b.HostPort, b.Protocol == TransportProtocol.Udp, identity.HostIp))
            .ToList();
        var labels = new Dictionary<string, string>(definition.DockerLabels)
        {
            [ContainerLabels.TaskId] = command.TaskId,
            [ContainerLabels.Cluster] = command.Cluster,
            [ContainerLabels.TaskDefinition] = task.TaskDefinitionArn,
            [ContainerLabels.Container] = definition.Name,
            [ContainerLabels.Node] = identity.NodeName,
            [ContainerLabels.Essential] = IsEssential(definition) ? "true" : "false",
            [ContainerLabels.StopTimeout] = StopTimeout(definition).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ContainerLabels.Group] = command.Group,
        };
        if (StopAfter(task) is { } stopAfter)
        {
            labels[ContainerLabels.DisconnectStopAfter] = ((int)stopAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new ContainerSpec(
            DockerName(command, definition.Name),
            definition.Image,
            [.. definition.Command],
            [.. definition.EntryPoint],
            [.. definition.Environment.Select(e => $"{e.Name}={e.Value}")],
            // ECS maps cpu units to CPU shares one to one; Docker's smallest share is 2.
            definition.Cpu == 0 ? 0 : Math.Max(2, definition.Cpu),
            definition.Memory * MiB,
            definition.MemoryReservation * MiB,
            ports,
            HealthCheck(definition.HealthCheck),
            StopTimeout(definition),
            labels)
        {
            Options = ContainerOptionsBuilder.Build(command, definition, identity.Workload, identity.NodeName, hostSources),
        };
    }

    /// <summary>The Docker name of a container of the task: how links and volumesFrom name the others.</summary>
    public static string DockerName(StartTaskCommand command, string container) =>
        $"orch-{command.TaskDefinition.Family}-{command.TaskDefinition.Revision}-{container}-{command.TaskId[..12]}";

    /// <summary>The task definition's disconnect.stopAfterSeconds; null when it has none.</summary>
    public static TimeSpan? StopAfter(TaskDefinition task) =>
        task.Disconnect is { StopAfterSeconds: > 0 } disconnect ? TimeSpan.FromSeconds(disconnect.StopAfterSeconds) : null;

    /// <summary>The same, read back from a container's label after a restart.</summary>
    public static TimeSpan? StopAfter(IReadOnlyDictionary<string, string> labels) =>
        int.TryParse(labels.GetValueOrDefault(ContainerLabels.DisconnectStopAfter), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : null;

    public static bool IsEssential(ContainerDefinition definition) => !definition.HasEssential || definition.Essential;

    public static int StopTimeout(ContainerDefinition definition) =>
        definition.StopTimeoutSeconds > 0 ? definition.StopTimeoutSeconds : DefaultStopTimeoutSeconds;

    private static HealthCheckSpec? HealthCheck(HealthCheck? check)
    {
        if (check is null || check.Command.Count == 0)
        {
            return null;
        }

        return new HealthCheckSpec(
            [.. check.Command],
            TimeSpan.FromSeconds(check.IntervalSeconds > 0 ? check.IntervalSeconds : 30),
            TimeSpan.FromSeconds(check.TimeoutSeconds > 0 ? check.TimeoutSeconds : 5),
            check.Retries > 0 ? check.Retries : 3,
            TimeSpan.FromSeconds(check.StartPeriodSeconds));
    }
}
