using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Agents;

internal static class RegistrationValidator
{
    public const int MaxReportedTasks = 10_000;

    /// <summary>Agent:AllowedHostPaths is an operator's short list, not data: a bound on a broken setting.</summary>
    public const int MaxAllowedHostPaths = 100;

    /// <summary>Linux's PATH_MAX.</summary>
    public const int MaxHostPathLength = 4096;

    public static AgentRegistration Validate(RegisterNode register)
    {
        var cluster = Names.Cluster(register.Cluster, "register.cluster");
        var node = Names.Node(register.NodeName, "register.nodeName");
        if (register.Resources is null || register.Resources.Cpu <= 0 || register.Resources.Memory <= 0)
        {
            throw RequestException.Invalid("register.resources", "cpu and memory must both be more than 0");
        }

        if (register.Resources.Cpu > Limits.MaxCpu || register.Resources.Memory > Limits.MaxMemoryMiB)
        {
            throw RequestException.Invalid("register.resources", $"at most {Limits.MaxCpu} cpu units and {Limits.MaxMemoryMiB} MiB");
        }

        if (register.Attributes.Count > Limits.MaxAttributes)
        {
            throw RequestException.Invalid("register.attributes", $"at most {Limits.MaxAttributes} allowed, got {register.Attributes.Count}");
        }

        foreach (var (key, value) in register.Attributes)
        {
            if (key.Length is 0 or > 128 || value.Length > 256)
            {
                throw RequestException.Invalid($"register.attributes[{Echo.Clip(key)}]", "keys must be 1 to 128 characters and values at most 256");
            }
        }

        Names.Text(register.AgentVersion, "register.agentVersion", 128);
        Limits.Count(register.Tasks, MaxReportedTasks, "register.tasks");
        return new AgentRegistration(
            cluster,
            node,
            register.Resources.Cpu,
            register.Resources.Memory,
            new SortedDictionary<string, string>(register.Attributes, StringComparer.Ordinal),
            register.AgentVersion,
            register.Rejoin,
            TagValidator.Validate(register.Tags, "register.tags"),
            Policy(register.Policy));
    }

    /// <summary>The agent's policy, its host paths made canonical once here so that placement compares them as they are.</summary>
    private static Domain.NodePolicy Policy(Contracts.V1.NodePolicy? policy)
    {
        if (policy is null || (!policy.AllowPrivileged && policy.AllowedHostPaths.Count == 0))
        {
            return Domain.NodePolicy.None;
        }

        Limits.Count(policy.AllowedHostPaths, MaxAllowedHostPaths, "register.policy.allowedHostPaths");
        var paths = new List<string>(policy.AllowedHostPaths.Count);
        for (var i = 0; i < policy.AllowedHostPaths.Count; i++)
        {
            var path = policy.AllowedHostPaths[i];
            var field = $"register.policy.allowedHostPaths[{i}]";
            Names.Text(path, field, MaxHostPathLength);
            if (path.Any(char.IsControl))
            {
                throw RequestException.Invalid(field, "must not contain control characters");
            }

            var canonical = HostPath.Canonical(path)
                ?? throw RequestException.Invalid(field, $"\"{Echo.Clip(path)}\" is not an absolute path");
            if (!paths.Contains(canonical, StringComparer.Ordinal))
            {
                paths.Add(canonical);
            }
        }

        return new Domain.NodePolicy(policy.AllowPrivileged, paths);
    }
}
