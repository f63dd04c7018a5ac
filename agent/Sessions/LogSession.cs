using Grpc.Core;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Sessions;

/// <summary>
/// Sends a container's logs to the scheduler: first a message naming the container, then batches of
/// lines as the engine hands them over, each write awaited (a slow reader slows the reading of the
/// engine's stream, nothing piles up). Ends at the end of the logs, or with follow when the container
/// stops; when the scheduler ends the call first, the engine's stream is closed.
/// </summary>
internal sealed class LogSession(IContainerRuntime runtime, AgentIdentity identity)
{
    public async Task RunAsync(OpenSession open, ISessionCall call, CancellationToken cancellation)
    {
        var found = await TaskContainers.FindAsync(runtime, identity, open.TaskId, open.Container, cancellation)
            ?? throw new SessionFailedException(StatusCode.NotFound, TaskContainers.Gone(identity, open.TaskId, open.Container));

        var logs = open.Logs;
        var options = new LogReadOptions(logs.Follow, logs.HasTail ? logs.Tail : null, logs.Since?.ToDateTimeOffset(), logs.Timestamps);

        // The cancellation is the scheduler ending the call: the enumeration ends, closing the engine's stream.
        try
        {
            await call.ToScheduler.WriteAsync(new AgentSessionMessage { Logs = new GetTaskLogsResponse { Container = open.Container } }, cancellation);
            var chunks = runtime.ReadLogsAsync(found.Id, options, cancellation);
            await foreach (var batch in LogBatcher.BatchAsync(chunks, new LogLineSplitter(logs.Timestamps), cancellation))
            {
                await call.ToScheduler.WriteAsync(new AgentSessionMessage { Logs = new GetTaskLogsResponse { Lines = { batch } } }, cancellation);
            }
        }
        catch (ContainerOperationException e)
        {
            // Removed meanwhile, or the engine cannot read its logs (a logging driver without reading).
            if (await TaskContainers.FindAsync(runtime, identity, open.TaskId, open.Container, cancellation) is null)
            {
                throw new SessionFailedException(StatusCode.NotFound, TaskContainers.Gone(identity, open.TaskId, open.Container), e);
            }

            throw new SessionFailedException(StatusCode.FailedPrecondition, $"cannot read the logs of container {open.Container} of task {open.TaskId}: {e.Message}", e);
        }
    }
}
