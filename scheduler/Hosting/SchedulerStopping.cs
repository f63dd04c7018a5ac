using System.Diagnostics;
using Grpc.Core;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// The graceful stop as the long-lived streams see it. Kestrel's shutdown waits for open requests, and a
/// WatchTasks or Connect stream never ends on its own, so without this every stop with a stream open
/// took the whole shutdown timeout (30 s, as long as systemd waits before SIGKILL). The streams watch
/// <see cref="Token"/> (cancelled on SIGTERM through ApplicationStopping, before Kestrel stops) and end
/// with <see cref="Unavailable"/>, which tells clients and agents to come back rather than that they
/// did something wrong. Before Kestrel stops, the stop also waits until those streams have ended, and a
/// moment more: Kestrel closes each connection as soon as its last stream is done, and a client whose
/// own half of the stream is still open (every agent's Connect) would then see the connection drop
/// instead of the status; on a live connection it reads the status as usual.
/// </summary>
internal sealed partial class SchedulerStopping : IHostedLifecycleService, IDisposable
{
    public const string Message = "the scheduler is stopping; reconnect";

    /// <summary>Long enough for a client to read the status on an open connection; short beside the stop.</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(200);

    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _allEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenRegistration _registration;
    private readonly ILogger<SchedulerStopping> _log;
    private int _open;

    public SchedulerStopping(IHostApplicationLifetime lifetime, ILogger<SchedulerStopping> log)
    {
        _log = log;
        _registration = lifetime.ApplicationStopping.Register(BeginStopping);
    }

    /// <summary>Cancelled once the scheduler has begun to stop (SIGTERM, Ctrl-C, systemctl stop).</summary>
    public CancellationToken Token => _stopping.Token;

    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>UNAVAILABLE: the status gRPC clients treat as worth retrying later.</summary>
    public static RpcException Unavailable() => new(new Status(StatusCode.Unavailable, Message));

    /// <summary>Counts a stream as open until the returned lease is disposed, so that the stop can wait for it.</summary>
    public Lease Open()
    {
        Interlocked.Increment(ref _open);
        return new Lease(this);
    }

    /// <summary>Runs before any hosted service (Kestrel first) is stopped, with the shutdown timeout's token.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // The host calls this before it fires ApplicationStopping when it is stopped other than by a signal
        // (the in-process tests): the streams must be told either way.
        BeginStopping();
        var open = Volatile.Read(ref _open);
        if (open == 0)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            // Bounded by the shutdown timeout: a stream stuck writing to a peer that reads nothing is then
            // left to Kestrel, which aborts its connection.
            await _allEnded.Task.WaitAsync(cancellationToken);
            await Task.Delay(Linger, cancellationToken);
            LogStreamsEnded(_log, open, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException)
        {
            LogStreamsLeft(_log, Volatile.Read(ref _open));
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _registration.Dispose();
        _stopping.Dispose();
    }

    private void BeginStopping()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed with the host: nothing is open any more.
        }

        if (Volatile.Read(ref _open) == 0)
        {
            _allEnded.TrySetResult();
        }
    }

    private void Ended()
    {
        if (Interlocked.Decrement(ref _open) == 0 && IsStopping)
        {
            _allEnded.TrySetResult();
        }
    }

    /// <summary>One open stream; disposing it marks the stream ended.</summary>
    internal readonly struct Lease(SchedulerStopping owner) : IDisposable
    {
        public void Dispose() => owner.Ended();
    }

    [LoggerMessage(LogEvents.StreamsEnded, LogLevel.Information, "Stopping: the {Streams} open streams have ended; {Milliseconds:0} ms with the linger")]
    private static partial void LogStreamsEnded(ILogger logger, int streams, double milliseconds);

    [LoggerMessage(LogEvents.StreamsAborted, LogLevel.Warning, "Stopping: {Streams} streams still open at the shutdown timeout; their connections are aborted")]
    private static partial void LogStreamsLeft(ILogger logger, int streams);
}
