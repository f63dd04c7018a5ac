using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>Which of a task's containers a logs or exec call is about.</summary>
internal static class ContainerChoice
{
    /// <summary>
    /// The container named, else the task's only one, else its first essential one (as
    /// <c>docker compose logs</c> picks the main service, the one whose end ends the task); NOT_FOUND
    /// naming the task's containers when the name is none of them.
    /// </summary>
    /// <param name="field">The request's field for the name ("container", "start.container").</param>
    public static ContainerRecord Resolve(TaskRecord task, string requested, string field)
    {
        if (requested.Length > 0)
        {
            return task.Containers.FirstOrDefault(c => c.Name == requested)
                ?? throw RequestException.NotFound(field,
                    $"task \"{task.Id}\" has no container \"{Echo.Clip(requested)}\"; its containers: {string.Join(", ", task.Containers.Select(c => c.Name))}");
        }

        if (task.Containers.Count == 0)
        {
            // Not for a task placed here, which has its definition's containers from the start.
            throw RequestException.Precondition(field, $"task \"{task.Id}\" has no containers");
        }

        return task.Containers.Count == 1
            ? task.Containers[0]
            : task.Containers.FirstOrDefault(c => c.Essential) ?? task.Containers[0];
    }
}
