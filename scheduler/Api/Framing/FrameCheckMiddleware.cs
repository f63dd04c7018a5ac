using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace Orchestrator.Scheduler.Api.Framing;

/// <summary>
/// Puts a <see cref="CheckedFrameStream"/> under every gRPC call's request body, so that a body that
/// is not a sequence of valid frames gets a clear status (see the stream) instead of UNKNOWN or INTERNAL.
/// Runs after routing, where the call's method (and so how many messages it takes) is known.
/// </summary>
internal sealed class FrameCheckMiddleware(RequestDelegate next, int maxMessageBytes)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc)
        {
            var encoding = context.Request.Headers["grpc-encoding"].ToString();
            var rules = new FrameRules(
                grpc.Method.FullName.TrimStart('/'),
                grpc.Method.Type is MethodType.Unary or MethodType.ServerStreaming,
                encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.Ordinal),
                maxMessageBytes);
            context.Request.Body = new CheckedFrameStream(context.Request.Body, rules);
        }

        return next(context);
    }
}
