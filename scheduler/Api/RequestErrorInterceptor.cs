using Grpc.Core;
using Grpc.Core.Interceptors;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api;

/// <summary>Turns refused requests into gRPC statuses, so that handlers just throw and stay thin.</summary>
internal sealed class RequestErrorInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RequestException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RequestException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (RequestException e)
        {
            throw ToRpc(e);
        }
    }

    public static RpcException ToRpc(RequestException e) => new(new Status(e.Kind switch
    {
        RequestErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        RequestErrorKind.NotFound => StatusCode.NotFound,
        RequestErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        RequestErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        _ => StatusCode.Unavailable,
    }, e.Message));
}
