using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tasks;

/// <summary>What the metrics read of the supervisor, when Prometheus scrapes.</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>The containers of the tasks this agent keeps, counted by status (indexed by the status's number).</summary>
    public int[] CountContainersByStatus()
    {
        var counts = new int[(int)TaskStatus.Stopped + 1];
        foreach (var task in _tasks.Values)
        {
            // A copy: the task's gate is not taken for a gauge, and a list copied while it grows is
            // merely a little stale, where enumerating it would throw.
            foreach (var container in task.Containers.ToArray())
            {
                if (container is not null && (int)container.Status < counts.Length)
                {
                    counts[(int)container.Status]++;
                }
            }
        }

        return counts;
    }
}
