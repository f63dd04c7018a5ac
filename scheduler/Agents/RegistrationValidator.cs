using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Agents;

internal static class RegistrationValidator
{
    public const int MaxReportedTasks = 10_000;

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
            TagValidator.Validate(register.Tags, "register.tags"));
    }
}
