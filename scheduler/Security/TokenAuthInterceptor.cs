using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// Checks the bearer token of every public call before its handler runs: missing, malformed, unknown
/// or revoked is UNAUTHENTICATED, a role that does not allow the call is PERMISSION_DENIED naming the
/// role needed. The caller is left in the call's UserState for handlers that hold a stream open (a
/// revoked token ends them). Nothing here logs or answers the token itself.
/// </summary>
internal sealed partial class TokenAuthInterceptor(ClusterState state, ILogger<TokenAuthInterceptor> log) : Interceptor
{
    private const string Scheme = "Bearer ";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }

    /// <summary>The caller of a call that passed this interceptor with a token.</summary>
    public static ApiCaller? CallerOf(ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(ApiCaller), out var caller) ? caller as ApiCaller : null;

    private void Authorize(ServerCallContext context)
    {
        if (ApiPermissions.Required(context.Method) is not { } needed)
        {
            return;
        }

        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null)
        {
            throw Refuse(context, StatusCode.Unauthenticated, "authorization: a token is required: send the header \"authorization: Bearer <token>\"");
        }

        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length == Scheme.Length)
        {
            throw Refuse(context, StatusCode.Unauthenticated, "authorization: must be \"Bearer <token>\"");
        }

        var caller = state.Authenticate(Secrets.Hash(header[Scheme.Length..].Trim()))
            ?? throw Refuse(context, StatusCode.Unauthenticated, "authorization: the token is not valid (unknown or revoked)");
        if (!ApiPermissions.Allows(caller.Role, needed))
        {
            throw Refuse(context, StatusCode.PermissionDenied, caller.Role == ApiRole.Balancer
                ? $"{context.Method.TrimStart('/')}: token {caller.TokenId} is a balancer token, which may only call BalancerService"
                : $"{context.Method.TrimStart('/')} needs the {ApiPermissions.Name(needed)} role{(needed == ApiRole.Balancer ? " (or admin)" : "")}; token {caller.TokenId} is {ApiPermissions.Name(caller.Role)}");
        }

        context.UserState[typeof(ApiCaller)] = caller;
    }

    private RpcException Refuse(ServerCallContext context, StatusCode code, string detail)
    {
        // Method and peer come from the connection and the route; escaped all the same, as every echo is.
        LogRefused(log, Echo.Escape(context.Method), Echo.Escape(context.Peer), detail);
        return new RpcException(new Status(code, detail));
    }

    [LoggerMessage(LogEvents.CallRefused, LogLevel.Warning, "Refused {Method} from {Peer}: {Detail}")]
    private static partial void LogRefused(ILogger logger, string method, string peer, string detail);
}
