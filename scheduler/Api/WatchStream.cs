using Grpc.Core;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

/// <summary>
/// Serves a watch stream (WatchTasks, WatchEvents): what the caller had read from memory first, then
/// each item of its <see cref="FeedWatch{TItem}"/>, until the client goes, its token is revoked or the
/// scheduler stops — each ending with the status that says which.
/// </summary>
internal static class WatchStream
{
    public static async Task ServeAsync<TItem, TResponse>(
        FeedWatch<TItem> watch,
        IEnumerable<TResponse> first,
        Func<TItem, TResponse> map,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        SchedulerStopping stopping)
    {
        // A revoked token ends the watch at once, not at the next call.
        var revoked = Security.TokenAuthInterceptor.CallerOf(context)?.Revoked ?? CancellationToken.None;
        // A stopping scheduler ends the watch too, or Kestrel would wait for it until its shutdown timeout.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, revoked, stopping.Token);
        using (watch)
        {
            try
            {
                // The watch ends between writes, never inside one: a write cancelled half-way aborts the
                // whole HTTP/2 stream, and the client would get CANCELLED instead of the status meant for it.
                foreach (var response in first)
                {
                    watching.Token.ThrowIfCancellationRequested();
                    await responseStream.WriteAsync(response, context.CancellationToken);
                }

                await foreach (var item in watch.Reader.ReadAllAsync(watching.Token))
                {
                    await responseStream.WriteAsync(map(item), context.CancellationToken);
                }
            }
            catch (Exception e) when (e is WatcherTooSlowException or EventWatcherTooSlowException)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
            }
            catch (OperationCanceledException) when (revoked.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "authorization: the token was revoked"));
            }
            catch (OperationCanceledException) when (stopping.IsStopping && !context.CancellationToken.IsCancellationRequested)
            {
                throw SchedulerStopping.Unavailable();
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                // The watcher went away.
            }
        }
    }
}
