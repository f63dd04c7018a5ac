using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// How many tasks are in each status, kept as commits are applied (under the state's lock) so that the
/// metrics read a number instead of walking every task at each scrape.
/// </summary>
internal sealed class TaskStatusCounts
{
    private readonly int[] _counts = new int[(int)TaskState.Stopped + 1];

    public void Add(TaskState status) => Interlocked.Increment(ref _counts[(int)status]);

    public void Remove(TaskState status) => Interlocked.Decrement(ref _counts[(int)status]);

    public int Of(TaskState status) => Volatile.Read(ref _counts[(int)status]);
}
