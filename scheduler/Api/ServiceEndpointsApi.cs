using System.Threading.Channels;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.LoadBalancing;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

/// <summary>
/// ListServiceEndpoints and WatchServiceEndpoints (ServiceApi hands them here): a service's endpoints
/// (<see cref="EndpointsBuilder"/>) now, and as a stream: the list now, then the whole list again after
/// each commit or balancer verdict that changed it. A watcher's updates wait in a bounded queue; one that
/// lets it fill up is cut off with RESOURCE_EXHAUSTED, as WatchTasks does.
/// </summary>
internal sealed class ServiceEndpointsApi(ClusterState state, LoadBalancingFeed feed, TargetHealthBook book, SchedulerStopping stopping, HA.ILeadership leadership)
{
    public const int QueueCapacity = 100;

    private static readonly (string Cluster, string Service) Fields = ("cluster", "service");

    public ListServiceEndpointsResponse List(ListServiceEndpointsRequest request)
    {
        var (cluster, name) = Validate(request.Cluster, request.Service);
        var response = new ListServiceEndpointsResponse();
        response.Endpoints.AddRange(Read(cluster, name, request.HealthyOnly, out _));
        return response;
    }

    public async Task WatchAsync(WatchServiceEndpointsRequest request, IServerStreamWriter<ServiceEndpointsUpdate> responseStream, ServerCallContext context)
    {
        var (cluster, name) = Validate(request.Cluster, request.Service);
        using var open = stopping.Open();
        var signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
        var updates = Channel.CreateBounded<ServiceEndpointsUpdate>(new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        void Signal() => signals.Writer.TryWrite(true);
        using var listening = feed.Listen(Signal);
        book.Changed += Signal;
        try
        {
            // The first list is read here, so that an unknown service is refused before the stream starts.
            var first = Update(cluster, name, request.HealthyOnly);
            updates.Writer.TryWrite(first);
            var revoked = Security.TokenAuthInterceptor.CallerOf(context)?.Revoked ?? CancellationToken.None;
            // A deposed leader's book empties with its balancers' streams: its lists would say every
            // balanced endpoint is unknown, so the watch ends and the watcher goes to the new leader.
            using var watching = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, revoked, stopping.Token, leadership.Deposed);
            var producer = ProduceAsync(cluster, name, request.HealthyOnly, first, signals.Reader, updates.Writer, watching.Token);
            try
            {
                await foreach (var update in updates.Reader.ReadAllAsync(watching.Token))
                {
                    await responseStream.WriteAsync(update, context.CancellationToken);
                }
            }
            catch (WatcherTooSlowForEndpoints e)
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
            catch (OperationCanceledException) when (leadership.Deposed.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"not the leader any more: {leadership.NotLeaderReason ?? "its lease was lost"}; watch again"),
                    leadership.LeaderAddress is { } leader && !leadership.IsLeader ? new Metadata { { HA.LeaderForwardingInterceptor.LeaderTrailer, leader } } : []);
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                // The watcher went away.
            }
            finally
            {
                await watching.CancelAsync();
                await producer;
            }
        }
        finally
        {
            book.Changed -= Signal;
        }
    }

    /// <summary>Reads the list after each signal and queues it when it differs from the last one queued.</summary>
    private async Task ProduceAsync(string cluster, string name, bool healthyOnly, ServiceEndpointsUpdate first,
        ChannelReader<bool> signals, ChannelWriter<ServiceEndpointsUpdate> updates, CancellationToken cancellation)
    {
        var last = first;
        try
        {
            await foreach (var _ in signals.ReadAllAsync(cancellation))
            {
                var next = Update(cluster, name, healthyOnly);
                if (next.Endpoints.Equals(last.Endpoints))
                {
                    continue;
                }

                if (!updates.TryWrite(next))
                {
                    updates.TryComplete(new WatcherTooSlowForEndpoints());
                    return;
                }

                last = next;
            }
        }
        catch (OperationCanceledException)
        {
            // The watch ended.
        }
        catch (RpcException e)
        {
            // The service (or its cluster) was deleted: the watch ends saying so.
            updates.TryComplete(e);
        }
        catch (RequestException e)
        {
            updates.TryComplete(e);
        }
    }

    private ServiceEndpointsUpdate Update(string cluster, string name, bool healthyOnly)
    {
        var endpoints = Read(cluster, name, healthyOnly, out var version);
        var update = new ServiceEndpointsUpdate { Version = version };
        update.Endpoints.AddRange(endpoints);
        return update;
    }

    private IReadOnlyList<ServiceEndpoint> Read(string cluster, string name, bool healthyOnly, out long version)
    {
        var service = state.BalancedService(cluster, name, Fields, out version, out _);
        return EndpointsBuilder.Build(service, book.Of, healthyOnly);
    }

    private static (string Cluster, string Service) Validate(string cluster, string service) =>
        (Names.Cluster(cluster), Names.Require(service, "service", "service name"));
}

internal sealed class WatcherTooSlowForEndpoints()
    : Exception($"the watcher fell more than {ServiceEndpointsApi.QueueCapacity} endpoint lists behind; watch again");
