using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api;

/// <summary>Cluster events: watched as they become durable (from a point in the past first, if asked) and listed.</summary>
internal sealed class EventApi(ClusterState state, SchedulerStopping stopping, TimeProvider time) : EventService.EventServiceBase
{
    public override Task<ListEventsResponse> ListEvents(ListEventsRequest request, ServerCallContext context)
    {
        var (filter, start, end) = EventQueryValidator.List(request);
        var events = state.ListEvents(filter, start, end);
        var (page, next) = Paging.Page(events, e => e.Key, request.MaxResults, request.NextToken);
        var response = new ListEventsResponse { NextToken = next };
        response.Events.AddRange(page.Select(EventMapper.ToWire));
        return Task.FromResult(response);
    }

    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<ClusterEvent> responseStream, ServerCallContext context)
    {
        var (filter, sinceSequence, since) = EventQueryValidator.Watch(request, time.GetUtcNow());
        using var open = stopping.Open();
        var (subscription, past) = state.WatchEvents(filter, sinceSequence, since);
        // A revoked token ends the watch at once, not at the next call.
        var revoked = Security.TokenAuthInterceptor.CallerOf(context)?.Revoked ?? CancellationToken.None;
        // A stopping scheduler ends the watch too, or Kestrel would wait for it until its shutdown timeout.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, revoked, stopping.Token);
        using (subscription)
        {
            try
            {
                // The watch ends between writes, never inside one: a write cancelled half-way aborts the
                // whole HTTP/2 stream, and the client would get CANCELLED instead of the status meant for it.
                foreach (var e in past)
                {
                    watching.Token.ThrowIfCancellationRequested();
                    await responseStream.WriteAsync(EventMapper.ToWire(e), context.CancellationToken);
                }

                await foreach (var e in subscription.Reader.ReadAllAsync(watching.Token))
                {
                    await responseStream.WriteAsync(EventMapper.ToWire(e), context.CancellationToken);
                }
            }
            catch (EventWatcherTooSlowException e)
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
