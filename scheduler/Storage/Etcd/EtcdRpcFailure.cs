using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>What a failed etcd request means for the write it carried.</summary>
internal enum EtcdRpcOutcome
{
    /// <summary>The request never left this process (no member could be connected to): sending it again is safe.</summary>
    NotSent,

    /// <summary>etcd answered no (a bad or too large request, no permission): nothing was applied.</summary>
    Refused,

    /// <summary>Sent, and then no answer (deadline, connection lost, leader changed): it may be applied yet.</summary>
    Unknown,
}

internal static class EtcdRpcFailure
{
    public static EtcdRpcOutcome Classify(RpcException error)
    {
        if (error.StatusCode == StatusCode.Unavailable && NeverConnected(error))
        {
            return EtcdRpcOutcome.NotSent;
        }

        // etcd checks these before it proposes anything to raft: an answer with them applied nothing.
        return error.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted
            or StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.OutOfRange or StatusCode.Unimplemented
            or StatusCode.NotFound or StatusCode.AlreadyExists
            ? EtcdRpcOutcome.Refused
            : EtcdRpcOutcome.Unknown;
    }

    /// <summary>
    /// The client failed to connect, so the request was not written to any socket: the load balancer had
    /// no reachable member, or the connection was refused.
    /// </summary>
    private static bool NeverConnected(RpcException error)
    {
        if (error.Status.Detail.StartsWith("Error connecting to subchannel", StringComparison.Ordinal))
        {
            return true;
        }

        for (var inner = error.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }
                || inner is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>etcd's answer when a read asks for a revision its history no longer holds.</summary>
    public static bool IsCompacted(RpcException error) =>
        error.StatusCode == StatusCode.OutOfRange && error.Status.Detail.Contains("compacted", StringComparison.Ordinal);
}
