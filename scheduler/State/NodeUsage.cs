using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// What the tasks on one node take from it, kept up to date as tasks change so that neither
/// placement nor the API ever has to add it up again.
/// </summary>
internal sealed class NodeUsage
{
    public int Cpu { get; private set; }
    public int Memory { get; private set; }
    public int Running { get; private set; }
    public int Pending { get; private set; }
    public HashSet<int> Ports { get; } = [];
    public Dictionary<string, int> TasksByGroup { get; } = new(StringComparer.Ordinal);

    public void Add(TaskRecord task) => Count(task, +1);

    public void Remove(TaskRecord task) => Count(task, -1);

    private void Count(TaskRecord task, int sign)
    {
        if (!TaskStateMachine.HoldsResources(task.LastStatus))
        {
            return;
        }

        Cpu += sign * task.Cpu;
        Memory += sign * task.Memory;
        if (task.LastStatus == TaskState.Running)
        {
            Running += sign;
        }
        else if (task.LastStatus is TaskState.Provisioning or TaskState.Pending)
        {
            Pending += sign;
        }

        foreach (var port in task.HostPorts)
        {
            if (sign > 0)
            {
                Ports.Add(port.Key);
            }
            else
            {
                Ports.Remove(port.Key);
            }
        }

        var groupCount = TasksByGroup.GetValueOrDefault(task.Group) + sign;
        if (groupCount == 0)
        {
            TasksByGroup.Remove(task.Group);
        }
        else
        {
            TasksByGroup[task.Group] = groupCount;
        }
    }
}
