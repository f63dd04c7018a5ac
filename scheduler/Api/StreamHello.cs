using Grpc.Core;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.Api;

/// <summary>
/// The first message of a two-way stream that must open with a hello (agents' sessions, balancers):
/// waited for at most <c>timeout</c>, a stream that ends first or a scheduler that stops meanwhile each
/// answered with their own status, so that no caller can hold a stream open without saying who it is.
/// </summary>
internal static class StreamHello
{
    public static async Task<T> ReadFirstAsync<T>(IAsyncStreamReader<T> requestStream, TimeSpan timeout, TimeProvider time, SchedulerStopping stopping, CancellationToken cancellation)
    {
        using var timer = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, timer.Token, stopping.Token);
        try
        {
            if (!await requestStream.MoveNext(linked.Token))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "hello: the stream ended before a hello message"));
            }
        }
        catch (OperationCanceledException) when (stopping.IsStopping && !cancellation.IsCancellationRequested)
        {
            throw SchedulerStopping.Unavailable();
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"hello: no hello message within {timeout.TotalSeconds:0} s"));
        }

        return requestStream.Current;
    }
}
