using System.Collections.Concurrent;
using System.Reflection;
using Google.Protobuf;
using Grpc.Core;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// The client-side description of a call this scheduler serves, built from the call's own path and message
/// types, so that forwarding needs no per-service code: every generated message has a static Parser.
/// </summary>
internal static class ForwardedMethod<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    private static readonly Marshaller<TRequest> Requests = MarshallerOf<TRequest>();
    private static readonly Marshaller<TResponse> Responses = MarshallerOf<TResponse>();
    private static readonly ConcurrentDictionary<(MethodType, string), Method<TRequest, TResponse>> Methods = new();

    /// <param name="path">The method path, "/orchestrator.v1.TaskService/RunTask".</param>
    public static Method<TRequest, TResponse> For(MethodType type, string path) => Methods.GetOrAdd((type, path), static key =>
    {
        var (type, path) = key;
        var slash = path.LastIndexOf('/');
        if (slash <= 0)
        {
            throw new ArgumentException($"not a gRPC method path: \"{path}\"", nameof(path));
        }

        return new Method<TRequest, TResponse>(type, path[1..slash], path[(slash + 1)..], Requests, Responses);
    });

    private static Marshaller<T> MarshallerOf<T>()
        where T : class
    {
        var parser = typeof(T).GetProperty("Parser", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as MessageParser
            ?? throw new InvalidOperationException($"{typeof(T).FullName} is not a protobuf message: it has no static Parser");
        return Marshallers.Create(message => ((IMessage)message).ToByteArray(), bytes => (T)parser.ParseFrom(bytes));
    }
}
