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
        await WatchStream.ServeAsync(subscription, past.Select(EventMapper.ToWire), EventMapper.ToWire, responseStream, context, stopping);
    }
}
