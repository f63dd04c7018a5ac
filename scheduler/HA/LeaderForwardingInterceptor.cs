using Grpc.Core;
using Grpc.Core.Interceptors;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// Makes a standby answer the public API as the leader would: calls are forwarded to the leader as they
/// came (with the caller's token, which the leader checks again), and its answer, status and trailers go
/// back as they are. With no leader known, reads are served from this scheduler's memory, marked
/// <see cref="StaleHeader"/>, and writes are refused with UNAVAILABLE. Agents are not forwarded: they are
/// told where the leader is (<see cref="LeaderTrailer"/>), since their streams must end on the leader.
/// On the leader every call costs one read of <see cref="ILeadership.IsLeader"/>.
/// Registered after TokenAuthInterceptor: a standby's memory is warm, so a bad token is refused here first.
/// </summary>
internal sealed partial class LeaderForwardingInterceptor(ILeadership leadership, LeaderChannel leaders, SchedulerStopping stopping,
    ILogger<LeaderForwardingInterceptor> log) : Interceptor
{
    /// <summary>Sent with a forwarded call ("1"): the receiver never forwards it again.</summary>
    public const string ForwardedHeader = "orchestrator-forwarded";

    /// <summary>A response header on reads a standby served from its own memory with no leader known: why it may be stale.</summary>
    public const string StaleHeader = "orchestrator-stale";

    /// <summary>A trailer on an agent's call refused by a standby: the leader's host:port.</summary>
    public const string LeaderTrailer = "orchestrator-leader";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        leadership.IsLeader ? continuation(request, context) : StandbyUnary(request, context, continuation);

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        leadership.IsLeader ? continuation(request, responseStream, context) : StandbyServerStreaming(request, responseStream, context, continuation);

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        leadership.IsLeader ? continuation(requestStream, context) : StandbyClientStreaming(requestStream, context, continuation);

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        leadership.IsLeader ? continuation(requestStream, responseStream, context) : StandbyDuplex(requestStream, responseStream, context, continuation);

    private async Task<TResponse> StandbyUnary<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        if (await Route(context) is not { } leader)
        {
            return await continuation(request, context);
        }

        using var call = leaders.For(leader).AsyncUnaryCall(ForwardedMethod<TRequest, TResponse>.For(MethodType.Unary, context.Method), null, Options(context), request);
        try
        {
            var response = await call.ResponseAsync;
            CopyTrailers(call.GetTrailers(), context.ResponseTrailers);
            return response;
        }
        catch (RpcException e)
        {
            throw PassedOn(e, leader);
        }
    }

    private async Task StandbyServerStreaming<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        if (await Route(context) is not { } leader)
        {
            await continuation(request, responseStream, context);
            return;
        }

        using var ending = Ending(context);
        using var call = leaders.For(leader).AsyncServerStreamingCall(
            ForwardedMethod<TRequest, TResponse>.For(MethodType.ServerStreaming, context.Method), null, Options(context, ending.Token), request);
        await Relay(call.ResponseStream, responseStream, call.GetTrailers, context, leader, ending.Token);
    }

    private async Task<TResponse> StandbyClientStreaming<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        if (await Route(context) is not { } leader)
        {
            return await continuation(requestStream, context);
        }

        using var ending = Ending(context);
        using var call = leaders.For(leader).AsyncClientStreamingCall(
            ForwardedMethod<TRequest, TResponse>.For(MethodType.ClientStreaming, context.Method), null, Options(context, ending.Token));
        _ = PumpRequests(requestStream, call.RequestStream, ending.Token);
        try
        {
            var response = await call.ResponseAsync;
            CopyTrailers(call.GetTrailers(), context.ResponseTrailers);
            return response;
        }
        catch (RpcException e)
        {
            throw PassedOn(e, leader);
        }
        finally
        {
            await ending.CancelAsync();
        }
    }

    private async Task StandbyDuplex<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        if (await Route(context) is not { } leader)
        {
            await continuation(requestStream, responseStream, context);
            return;
        }

        using var ending = Ending(context);
        using var call = leaders.For(leader).AsyncDuplexStreamingCall(
            ForwardedMethod<TRequest, TResponse>.For(MethodType.DuplexStreaming, context.Method), null, Options(context, ending.Token));
        _ = PumpRequests(requestStream, call.RequestStream, ending.Token);
        try
        {
            await Relay(call.ResponseStream, responseStream, call.GetTrailers, context, leader, ending.Token);
        }
        finally
        {
            // The leader has answered: stop reading the caller, whose own half may still be open.
            await ending.CancelAsync();
        }
    }

    /// <summary>
    /// Where the call goes: the leader's address to forward it; null to serve it here (after marking a
    /// stale read). Throws the refusal for the rest.
    /// </summary>
    private async Task<string?> Route(ServerCallContext context)
    {
        var leader = leadership.LeaderAddress;
        var forwarded = context.RequestHeaders.GetValue(ForwardedHeader) is not null;
        switch (StandbyCallPolicy.Decide(context.Method, forwarded, leader is not null))
        {
            case StandbyAction.Serve:
                return null;
            case StandbyAction.Forward:
                LogForwarding(log, Echo.Escape(context.Method), leader!);
                return leader;
            case StandbyAction.ServeStale:
                await context.WriteResponseHeadersAsync(new Metadata { { StaleHeader, HeaderSafe(Reason()) } });
                return null;
            case StandbyAction.RefuseAgent:
                throw leader is null
                    ? new RpcException(new Status(StatusCode.Unavailable, $"not the leader; no leader is known: {Reason()}"))
                    : new RpcException(new Status(StatusCode.Unavailable, $"not the leader; the leader is at {leader}"), new Metadata { { LeaderTrailer, leader } });
            case StandbyAction.RefuseForwarded:
                throw new RpcException(new Status(StatusCode.Unavailable, $"not the leader: this scheduler is a standby too, and does not forward a call another one forwarded ({Reason()})"));
            default:
                throw new RpcException(new Status(StatusCode.Unavailable, $"no leader: {Reason()}; nothing was changed"));
        }
    }

    private string Reason() => leadership.NotLeaderReason ?? "no leader is known";

    /// <summary>Ends with the caller's call, or when this scheduler begins to stop (then the caller reconnects, as to the leader's own streams).</summary>
    private CancellationTokenSource Ending(ServerCallContext context) =>
        CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping.Token);

    private static CallOptions Options(ServerCallContext context, CancellationToken? cancellation = null)
    {
        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders)
        {
            if (!IsTransportHeader(entry.Key))
            {
                headers.Add(entry);
            }
        }

        headers.Add(ForwardedHeader, "1");
        DateTime? deadline = context.Deadline == DateTime.MaxValue ? null : context.Deadline;
        return new CallOptions(headers, deadline, cancellation ?? context.CancellationToken);
    }

    /// <summary>Headers of this hop, which the forwarding channel sets for itself; everything else (authorization first) goes on.</summary>
    private static bool IsTransportHeader(string key) =>
        key.StartsWith(':') || key.StartsWith("grpc-", StringComparison.Ordinal) || key is "host" or "te" or "content-type" or "content-length"
            or "user-agent" or "accept-encoding" or "connection" or ForwardedHeader;

    private static async Task Relay<TResponse>(IAsyncStreamReader<TResponse> from, IServerStreamWriter<TResponse> to, Func<Metadata> trailers,
        ServerCallContext context, string leader, CancellationToken ending)
    {
        try
        {
            while (await from.MoveNext(ending))
            {
                await to.WriteAsync(from.Current, ending);
            }

            CopyTrailers(trailers(), context.ResponseTrailers);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ending.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // This scheduler is stopping: the caller is told to come back, as the leader's own streams say.
            throw SchedulerStopping.Unavailable();
        }
        catch (RpcException e)
        {
            throw PassedOn(e, leader);
        }
    }

    /// <summary>Copies the caller's messages to the leader until the caller ends its half or the call ends; the leader's status tells how it went.</summary>
    private static async Task PumpRequests<TRequest>(IAsyncStreamReader<TRequest> from, IClientStreamWriter<TRequest> to, CancellationToken ending)
    {
        try
        {
            while (await from.MoveNext(ending))
            {
                await to.WriteAsync(from.Current, ending);
            }

            await to.CompleteAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException or IOException)
        {
            // The call ended first (the leader answered, or either side went away): its status is what counts.
        }
    }

    /// <summary>
    /// The leader's status and trailers as they are, as this scheduler's own answer; when the leader could
    /// not be reached at all (the status is the forwarding channel's, with the transport's exception), an
    /// UNAVAILABLE that says so, which clients retry.
    /// </summary>
    private static RpcException PassedOn(RpcException e, string leader)
    {
        if (e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is not null)
        {
            return new RpcException(new Status(StatusCode.Unavailable, $"not the leader, and the leader at {leader} did not answer: {e.Status.Detail}; nothing was changed by this call here"));
        }

        var trailers = new Metadata();
        CopyTrailers(e.Trailers, trailers);
        return new RpcException(e.Status, trailers, e.Status.Detail);
    }

    private static void CopyTrailers(Metadata from, Metadata to)
    {
        foreach (var entry in from)
        {
            if (!entry.Key.StartsWith("grpc-", StringComparison.Ordinal) && !entry.Key.StartsWith(':'))
            {
                to.Add(entry);
            }
        }
    }

    /// <summary>A reason as a header value: printable ASCII only (HTTP/2 refuses the rest).</summary>
    private static string HeaderSafe(string text) =>
        string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = source[i] is >= ' ' and <= '~' ? source[i] : '?';
            }
        });

    [LoggerMessage(LogEvents.CallForwarded, LogLevel.Debug, "Forwarding {Method} to the leader at {Leader}")]
    private static partial void LogForwarding(ILogger logger, string method, string leader);
}
