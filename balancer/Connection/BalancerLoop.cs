using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Connection;
using Orchestrator.Balancer.Apply;
using Orchestrator.Balancer.Haproxy;
using Orchestrator.Balancer.Hosting;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Balancer.Connection;

/// <summary>
/// The balancer's stream to the leading scheduler, and the loop that applies what it says. The stream:
/// hello first, then every BalancerAssignment is the whole desired state (the latest wins); when it breaks
/// the balancer goes to the leader a standby names, or the next scheduler, and after a round of failures
/// waits a capped, jittered backoff. The loop: once an assignment came, the whole diff is applied every
/// second and at once on a new assignment, and the report is sent when it changed and at least every 2 s.
/// Until the first assignment HAProxy is left as it is: a balancer cut off from the schedulers goes on
/// serving what it served.
/// </summary>
internal sealed partial class BalancerLoop(
    BalancerOptions options,
    SchedulerChannels channels,
    BalancerApplier applier,
    TimeProvider time,
    ILogger<BalancerLoop> log) : BackgroundService
{
    public const string Version = "0.1.0";

    /// <summary>The trailer a standby scheduler names the leader in.</summary>
    public const string LeaderTrailer = "orchestrator-leader";

    private static readonly TimeSpan ApplyInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _wake = new(0);
    private readonly Lock _lock = new();
    private IReadOnlyList<DesiredGroup>? _desired;
    private ChannelWriter<BalancerReport>? _session;
    private BalancerReport? _lastSent;
    private long _lastSentAt;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var applying = ApplyLoopAsync(stoppingToken);
        var schedulers = new SchedulerList(SchedulerList.Parse(options.Schedulers));
        var backoff = new Backoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), new Random());
        while (!stoppingToken.IsCancellationRequested)
        {
            var address = schedulers.Current;
            string? leader = null;
            try
            {
                await RunSessionAsync(address, schedulers, backoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.InvalidArgument)
            {
                LogRefused(log, address.Authority, e.Status.Detail);
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException or OperationCanceledException)
            {
                leader = e is RpcException { StatusCode: StatusCode.Unavailable } refused ? refused.Trailers.GetValue(LeaderTrailer) : null;
                LogLost(log, address.Authority, e.Message);
            }

            if (schedulers.Failed(leader))
            {
                var delay = backoff.Next();
                LogRetrying(log, delay.TotalSeconds, schedulers.Current.Authority);
                try
                {
                    await Task.Delay(delay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await applying;
    }

    private async Task RunSessionAsync(Uri address, SchedulerList schedulers, Backoff backoff, CancellationToken stoppingToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var client = new BalancerService.BalancerServiceClient(channels.For(address));
        using var call = client.Connect(cancellationToken: session.Token);
        var hello = new BalancerHello { Name = options.EffectiveName, Version = Version };
        hello.TargetGroups.AddRange(options.ServedGroups.Order(StringComparer.Ordinal));
        await call.RequestStream.WriteAsync(new BalancerMessage { Hello = hello }, session.Token);
        var outbox = Channel.CreateBounded<BalancerReport>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var writer = WriteReportsAsync(call.RequestStream, outbox.Reader, session);
        var first = true;
        try
        {
            while (await call.ResponseStream.MoveNext(session.Token))
            {
                var assignment = call.ResponseStream.Current;
                var desired = DesiredState.From(assignment, options.ServedGroups);
                if (first)
                {
                    first = false;
                    schedulers.Succeeded();
                    backoff.Reset();
                    LogConnected(log, address.Authority, assignment.Version, desired.Count);
                    lock (_lock)
                    {
                        _session = outbox.Writer;
                        _lastSent = null;
                    }
                }

                lock (_lock)
                {
                    _desired = desired;
                }

                _wake.Release();
            }

            throw new InvalidOperationException("the scheduler ended the stream");
        }
        finally
        {
            lock (_lock)
            {
                if (_session == outbox.Writer)
                {
                    _session = null;
                }
            }

            outbox.Writer.TryComplete();
            await session.CancelAsync();
            try
            {
                await writer;
            }
            catch (OperationCanceledException)
            {
                // The session is over.
            }
        }
    }

    private async Task ApplyLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(ApplyInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            IReadOnlyList<DesiredGroup>? desired;
            lock (_lock)
            {
                desired = _desired;
            }

            if (desired is null)
            {
                continue;
            }

            BalancerReport report;
            try
            {
                report = await applier.ReconcileAsync(desired, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogApplyFailed(log, e.Message);
                report = ReportBuilder.AllFailed(desired, $"the balancer cannot write its files: {e.Message}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever else goes wrong in one pass must not end the loop: a dead loop would leave
                // HAProxy as it is and the scheduler with the last report forever (frozen verdicts, no drain).
                LogApplyFailed(log, e.ToString());
                report = ReportBuilder.AllFailed(desired, $"the balancer failed to apply its assignment: {e.Message}");
            }

            Publish(report);
        }
    }

    private void Publish(BalancerReport report)
    {
        lock (_lock)
        {
            if (_session is null || (report.Equals(_lastSent) && time.GetElapsedTime(_lastSentAt) < ReportInterval - TimeSpan.FromMilliseconds(100)))
            {
                return;
            }

            if (_session.TryWrite(report))
            {
                _lastSent = report;
                _lastSentAt = time.GetTimestamp();
            }
        }
    }

    private static async Task WriteReportsAsync(IClientStreamWriter<BalancerMessage> stream, ChannelReader<BalancerReport> reports, CancellationTokenSource session)
    {
        try
        {
            await foreach (var report in reports.ReadAllAsync(session.Token))
            {
                await stream.WriteAsync(new BalancerMessage { Report = report }, session.Token);
            }
        }
        catch (Exception) when (!session.IsCancellationRequested)
        {
            // A failed write ends the session; the next one starts with a full report.
            await session.CancelAsync();
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(1, LogLevel.Information, "Connected to the scheduler at {Address}: assignment {Version}, {Groups} target groups to serve")]
    private static partial void LogConnected(ILogger logger, string address, long version, int groups);

    [LoggerMessage(2, LogLevel.Warning, "Lost the scheduler at {Address}: {Problem}")]
    private static partial void LogLost(ILogger logger, string address, string problem);

    [LoggerMessage(3, LogLevel.Error, "The scheduler at {Address} refused this balancer: {Problem} (Balancer:TokenFile must hold a token of role balancer or admin)")]
    private static partial void LogRefused(ILogger logger, string address, string problem);

    [LoggerMessage(4, LogLevel.Information, "Reconnecting in {Seconds:0.0} s, to the scheduler at {Address}")]
    private static partial void LogRetrying(ILogger logger, double seconds, string address);

    [LoggerMessage(5, LogLevel.Error, "Applying the assignment failed: {Problem}")]
    private static partial void LogApplyFailed(ILogger logger, string problem);
}
