using System.Threading.Channels;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Feeds concurrent RunTask calls to the state in groups: every call that arrived while the previous
/// group was being placed and written goes into the next one, which the state records with one LiteDB
/// transaction (see <see cref="ClusterState.RunTasksAsync"/>). Alone, a call is a group of one; under
/// load the commit, the dominant cost of a RunTask, is shared, and a group's flush to disk runs while
/// the next group is placed and written. One reader keeps calls in arrival order.
/// </summary>
internal sealed class RunTaskBatcher(ClusterState state) : BackgroundService
{
    private const int MaxGroup = 64;

    private readonly Channel<PendingRunTask> _queue = Channel.CreateUnbounded<PendingRunTask>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Completes once the call's tasks are saved (or it was refused); throws its RequestException.</summary>
    public Task<RunTaskOutcome> RunAsync(RunTaskCommand command)
    {
        var pending = new PendingRunTask(command, new TaskCompletionSource<RunTaskOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            throw ShuttingDown();
        }

        return pending.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var group = new List<PendingRunTask>(MaxGroup);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (group.Count < MaxGroup && _queue.Reader.TryRead(out var pending))
                {
                    group.Add(pending);
                }

                // Not awaited: the next group is placed and written while this one's flush runs.
                _ = RunAsync([.. group]);
                group.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: answer what is still queued, below.
        }

        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out var pending))
        {
            pending.Done.TrySetException(ShuttingDown());
        }
    }

    private async Task RunAsync(List<PendingRunTask> group)
    {
        IReadOnlyList<RunTaskResult> results;
        try
        {
            // Placed and written before the first await; answered once durable.
            results = await state.RunTasksAsync([.. group.Select(p => p.Command)]);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not a refusal of one request (those come back as results): a fault that must not stop
            // the loop. Each caller gets it; nothing of the group was sent anywhere.
            foreach (var pending in group)
            {
                pending.Done.TrySetException(e);
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            if (results[i].Error is { } error)
            {
                group[i].Done.TrySetException(error);
            }
            else
            {
                group[i].Done.TrySetResult(results[i].Outcome!);
            }
        }
    }

    private static RequestException ShuttingDown() => new(RequestErrorKind.Unavailable, "", "the scheduler is shutting down; nothing was started");

    private sealed record PendingRunTask(RunTaskCommand Command, TaskCompletionSource<RunTaskOutcome> Done);
}
