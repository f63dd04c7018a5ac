using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// Checks a task definition as ECS does and works out what one of its tasks needs from a node.
/// Field names in errors are those a grpcurl user writes, e.g. <c>containerDefinitions[1].memory</c>.
/// </summary>
internal static class TaskDefinitionValidator
{
    /// <summary>The longest disconnect.stopAfterSeconds: a day, as a bound on a typing slip rather than a policy.</summary>
    public const int MaxStopAfterSeconds = 86_400;

    /// <param name="heartbeatInterval">Scheduler:HeartbeatInterval: a stopAfter must outlast three of them,
    /// or an agent would fence its tasks between two ordinary heartbeats.</param>
    public static (Contract.TaskDefinition Spec, TaskResourceDemand Demand) Validate(Contract.RegisterTaskDefinitionRequest request, TimeSpan? heartbeatInterval = null)
    {
        Names.Require(request.Family, "family", "family name");
        var containers = request.ContainerDefinitions;
        if (containers.Count == 0)
        {
            throw RequestException.Invalid("containerDefinitions", "at least one container definition is required");
        }

        Limits.Count(containers, Limits.MaxContainers, "containerDefinitions");
        CheckRange(request.Cpu, 0, Limits.MaxCpu, "cpu", "CPU units");
        if (request.Memory != 0)
        {
            CheckRange(request.Memory, Limits.MinMemoryMiB, Limits.MaxMemoryMiB, "memory", "MiB");
        }

        var volumeNames = VolumeValidator.Validate(request.Volumes);
        var networkMode = NetworkModeValidator.Parse(request.NetworkMode);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var hostPorts = new Dictionary<HostPortKey, string>();
        var ports = new List<PortRequest>();
        var cpuSum = 0L;
        var memorySum = 0L;
        for (var i = 0; i < containers.Count; i++)
        {
            var container = containers[i];
            var at = $"containerDefinitions[{i}]";
            Names.Require(container.Name, $"{at}.name", "container name");
            if (!names.Add(container.Name))
            {
                throw RequestException.Invalid($"{at}.name", $"\"{Echo.Clip(container.Name)}\" is used by another container of this task definition");
            }

            CheckImage(container.Image, $"{at}.image");
            CheckStrings(container.Command, $"{at}.command");
            CheckStrings(container.EntryPoint, $"{at}.entryPoint");
            CheckEnvironment(container.Environment, $"{at}.environment");
            CheckLabels(container.DockerLabels, $"{at}.dockerLabels");
            CheckRange(container.Cpu, 0, Limits.MaxCpu, $"{at}.cpu", "CPU units");
            var reserved = CheckMemory(container, at, taskMemory: request.Memory);
            CheckHealthCheck(container.HealthCheck, $"{at}.healthCheck");
            CheckRange(container.StopTimeoutSeconds, 0, 120, $"{at}.stopTimeoutSeconds", "seconds");
            CheckPorts(container, at, networkMode, hostPorts, ports);
            NetworkModeValidator.CheckContainer(container, at, networkMode);
            ContainerNetworkValidator.Check(container, at);
            MountPointValidator.Check(container, at, volumeNames);
            SecretReferenceValidator.Check(container, at);
            LogConfigurationValidator.Check(container, at);
            ContainerRuntimeOptionsValidator.Check(container, at);
            RestartPolicyValidator.Check(container.RestartPolicy, $"{at}.restartPolicy");
            cpuSum += container.Cpu;
            memorySum += reserved;
        }

        if (!containers.Any(c => !c.HasEssential || c.Essential))
        {
            throw RequestException.Invalid("containerDefinitions", "at least one container must be essential");
        }

        DependencyValidator.Check(containers);

        if (request.Cpu > 0 && cpuSum > request.Cpu)
        {
            throw RequestException.Invalid("cpu", $"the containers reserve {cpuSum} CPU units, more than the task's {request.Cpu}");
        }

        if (request.Memory > 0 && memorySum > request.Memory)
        {
            throw RequestException.Invalid("memory", $"the containers reserve {memorySum} MiB, more than the task's {request.Memory}");
        }

        CheckDisconnect(request.Disconnect, heartbeatInterval ?? new SchedulerOptions().HeartbeatInterval);
        TaskPlacementConstraintValidator.Check(request.PlacementConstraints);
        var spec = new Contract.TaskDefinition
        {
            Family = request.Family,
            Cpu = request.Cpu,
            Memory = request.Memory,
            Disconnect = request.Disconnect is { StopAfterSeconds: > 0 } ? request.Disconnect : null,
            NetworkMode = request.NetworkMode,
        };
        spec.ContainerDefinitions.AddRange(containers);
        spec.Volumes.AddRange(request.Volumes);
        spec.PlacementConstraints.AddRange(request.PlacementConstraints);
        var demand = new TaskResourceDemand(
            request.Cpu > 0 ? request.Cpu : (int)cpuSum,
            request.Memory > 0 ? request.Memory : (int)Math.Min(memorySum, Limits.MaxMemoryMiB),
            ports);
        return (spec, demand);
    }

    private static void CheckDisconnect(Contract.Disconnect? disconnect, TimeSpan heartbeatInterval)
    {
        if (disconnect is null || disconnect.StopAfterSeconds == 0)
        {
            return;
        }

        var minimum = (int)Math.Ceiling(3 * heartbeatInterval.TotalSeconds);
        CheckRange(disconnect.StopAfterSeconds, minimum, MaxStopAfterSeconds, "disconnect.stopAfterSeconds", "seconds",
            $"must be 0 (off) or at least {minimum} seconds (three heartbeat intervals of {heartbeatInterval.TotalSeconds:0.###} s), not {disconnect.StopAfterSeconds}");
    }

    /// <summary>Returns the MiB the container reserves: its soft limit where given, else its hard limit.</summary>
    private static int CheckMemory(Contract.ContainerDefinition container, string at, int taskMemory)
    {
        if (container.Memory != 0)
        {
            CheckRange(container.Memory, Limits.MinMemoryMiB, Limits.MaxMemoryMiB, $"{at}.memory", "MiB", $"must be at least {Limits.MinMemoryMiB} MiB");
        }

        if (container.MemoryReservation != 0)
        {
            CheckRange(container.MemoryReservation, Limits.MinMemoryMiB, Limits.MaxMemoryMiB, $"{at}.memoryReservation", "MiB", $"must be at least {Limits.MinMemoryMiB} MiB");
        }

        if (container.Memory == 0 && container.MemoryReservation == 0 && taskMemory == 0)
        {
            throw RequestException.Invalid($"{at}.memory", "memory or memoryReservation is required when the task sets no memory");
        }

        if (container.Memory != 0 && container.MemoryReservation > container.Memory)
        {
            throw RequestException.Invalid($"{at}.memoryReservation", $"{container.MemoryReservation} MiB is more than the hard limit, memory = {container.Memory} MiB");
        }

        if (taskMemory != 0 && container.Memory > taskMemory)
        {
            throw RequestException.Invalid($"{at}.memory", $"{container.Memory} MiB is more than the task's memory, {taskMemory} MiB");
        }

        return container.MemoryReservation != 0 ? container.MemoryReservation : container.Memory;
    }

    /// <summary>
    /// Each mapping's node port joins the demand: a static one (bridge's hostPort, host mode's container
    /// port) is refused a second time in the task, and 0 asks placement for a dynamic one.
    /// </summary>
    private static void CheckPorts(Contract.ContainerDefinition container, string at, NetworkMode networkMode, Dictionary<HostPortKey, string> hostPorts, List<PortRequest> ports)
    {
        Limits.Count(container.PortMappings, Limits.MaxPortMappings, $"{at}.portMappings");
        var containerPorts = new HashSet<HostPortKey>();
        for (var p = 0; p < container.PortMappings.Count; p++)
        {
            var mapping = container.PortMappings[p];
            var field = $"{at}.portMappings[{p}]";
            CheckRange(mapping.ContainerPort, 1, 65535, $"{field}.containerPort", "");
            CheckRange(mapping.HostPort, 0, 65535, $"{field}.hostPort", "");
            var protocol = WireEnums.ToDomain(mapping.Protocol)
                ?? throw RequestException.Invalid($"{field}.protocol", $"unknown protocol {(int)mapping.Protocol}; use TRANSPORT_PROTOCOL_TCP or TRANSPORT_PROTOCOL_UDP");

            if (!containerPorts.Add(new HostPortKey(mapping.ContainerPort, protocol)))
            {
                throw RequestException.Invalid($"{field}.containerPort", $"{mapping.ContainerPort}/{protocol.ToString().ToLowerInvariant()} is mapped twice in this container");
            }

            var hostPort = NetworkModeValidator.HostPortOf(mapping, field, networkMode);
            if (hostPort != 0)
            {
                var key = new HostPortKey(hostPort, protocol);
                if (hostPorts.TryGetValue(key, out var other))
                {
                    throw RequestException.Invalid($"{field}.hostPort", $"host port {key} is already used by {other}");
                }

                hostPorts[key] = field;
            }

            ports.Add(new PortRequest(container.Name, mapping.ContainerPort, hostPort, protocol));
        }
    }

    private static void CheckHealthCheck(Contract.HealthCheck? check, string at)
    {
        if (check is null)
        {
            return;
        }

        if (check.Command.Count == 0)
        {
            throw RequestException.Invalid($"{at}.command", "is required: [\"CMD\", exe, args...] or [\"CMD-SHELL\", \"line\"]");
        }

        if (check.Command[0] is not ("CMD" or "CMD-SHELL" or "NONE"))
        {
            throw RequestException.Invalid($"{at}.command", $"must start with \"CMD\", \"CMD-SHELL\" or \"NONE\", not \"{Echo.Clip(check.Command[0])}\"");
        }

        if (check.Command[0] != "NONE" && check.Command.Count < 2)
        {
            throw RequestException.Invalid($"{at}.command", $"\"{Echo.Clip(check.Command[0])}\" needs a command after it");
        }

        CheckStrings(check.Command, $"{at}.command");
        CheckOptionalRange(check.IntervalSeconds, 5, 300, $"{at}.intervalSeconds");
        CheckOptionalRange(check.TimeoutSeconds, 2, 60, $"{at}.timeoutSeconds");
        CheckOptionalRange(check.Retries, 1, 10, $"{at}.retries");
        CheckRange(check.StartPeriodSeconds, 0, 300, $"{at}.startPeriodSeconds", "seconds");
    }

    private static void CheckImage(string image, string field)
    {
        if (image.Length == 0)
        {
            throw RequestException.Invalid(field, "image is required");
        }

        if (image.Length > Limits.MaxImageLength || image.Any(char.IsWhiteSpace) || image.Any(char.IsControl))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(image)}\" is not an image reference (no spaces, at most {Limits.MaxImageLength} characters)");
        }
    }

    internal static void CheckStrings(IReadOnlyList<string> values, string field)
    {
        Limits.Count(values, Limits.MaxArguments, field);
        for (var i = 0; i < values.Count; i++)
        {
            Names.Text(values[i], $"{field}[{i}]", Limits.MaxStringLength);
        }
    }

    internal static void CheckEnvironment(IReadOnlyList<Contract.EnvironmentVariable> environment, string field)
    {
        Limits.Count(environment, Limits.MaxEnvironment, field);
        for (var i = 0; i < environment.Count; i++)
        {
            CheckEnvironmentName(environment[i].Name, $"{field}[{i}].name");
            Names.Text(environment[i].Value, $"{field}[{i}].value", Limits.MaxStringLength);
        }
    }

    /// <summary>An environment variable's name, as environment and secrets (without asFile) give them.</summary>
    internal static void CheckEnvironmentName(string name, string field)
    {
        if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Any(char.IsControl))
        {
            throw RequestException.Invalid(field, "must be a non-empty name without '=' or control characters");
        }

        Names.Text(name, field, 256);
    }

    internal static void CheckLabels(IDictionary<string, string> labels, string field)
    {
        if (labels.Count > Limits.MaxLabels)
        {
            throw RequestException.Invalid(field, $"at most {Limits.MaxLabels} allowed, got {labels.Count}");
        }

        foreach (var (key, value) in labels)
        {
            if (key.Length == 0 || key.Length > 256)
            {
                throw RequestException.Invalid(field, "label keys must be 1 to 256 characters");
            }

            if (key.StartsWith("orchestrator.", StringComparison.Ordinal))
            {
                throw RequestException.Invalid($"{field}[{Echo.Clip(key)}]", "keys starting with \"orchestrator.\" are reserved for the agent's own labels");
            }

            Names.Text(value, $"{field}[{Echo.Clip(key)}]", Limits.MaxStringLength);
        }
    }

    private static void CheckOptionalRange(int value, int min, int max, string field)
    {
        if (value != 0)
        {
            CheckRange(value, min, max, field, "");
        }
    }

    internal static void CheckRange(int value, int min, int max, string field, string unit, string? belowMin = null)
    {
        if (value < min)
        {
            throw RequestException.Invalid(field, belowMin ?? $"must be at least {min}{Suffix(unit)}, not {value}");
        }

        if (value > max)
        {
            throw RequestException.Invalid(field, $"must be at most {max}{Suffix(unit)}, not {value}");
        }
    }

    private static string Suffix(string unit) => unit.Length == 0 ? "" : " " + unit;
}
