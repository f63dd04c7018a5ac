using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Agents;

/// <summary>The start and stop commands of the agent protocol, built from the records they are about.</summary>
internal static class AgentCommands
{
    /// <param name="secrets">Where the values of the secret versions the task was pinned to are decrypted:
    /// here only, as the command is built, straight into it.</param>
    public static Contract.SchedulerMessage Start(TaskRecord task, TaskDefinitionEntry definition, ISecretValues secrets)
    {
        var start = new Contract.StartTaskCommand
        {
            TaskId = task.Id,
            Cluster = task.Cluster,
            TaskDefinition = definition.Spec,
            Group = task.Group,
            LastStatus = WireEnums.ToWire(task.LastStatus),
        };
        foreach (var container in task.Containers)
        {
            foreach (var binding in container.Bindings)
            {
                start.PortBindings.Add(new Contract.NetworkBinding
                {
                    ContainerName = container.Name,
                    ContainerPort = binding.ContainerPort,
                    HostPort = binding.HostPort,
                    Protocol = WireEnums.ToWire(binding.Protocol),
                });
            }
        }

        StartCommandSecrets.Fill(start, task, secrets);
        return new Contract.SchedulerMessage { StartTask = start };
    }

    public static Contract.SchedulerMessage Stop(string taskId, TaskStopCode code, string reason) => new()
    {
        StopTask = new Contract.StopTaskCommand { TaskId = taskId, Reason = reason, StopCode = WireEnums.ToWire(code) },
    };
}
