using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Hosting;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Security;
using Orchestrator.Agent.Sessions;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Agent.Telemetry;

namespace Orchestrator.Agent.Connection;

/// <summary>
/// The agent's one stream to the scheduler: waits for its runtime (Docker or containerd), adopts what runs, registers, then
/// sends heartbeats and reports and carries out commands. When the stream breaks (scheduler restart,
/// network) it reconnects with capped, jittered backoff and registers again with what it runs.
/// Over TLS it first joins when the node has no certificate yet (or Agent:Rejoin asks for a new one).
/// </summary>
internal sealed partial class SchedulerConnection(
    AgentOptions options,
    AgentSecurity security,
    SchedulerChannel channel,
    NodeEnrollment enrollment,
    IContainerRuntime runtime,
    TaskSupervisor supervisor,
    ReportQueue reports,
    SchedulerLease lease,
    AgentIdentity identity,
    AgentStartup startup,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    AgentMeter meter,
    SessionRunner sessions,
    ILogger<SchedulerConnection> log) : BackgroundService
{
    public const string Version = "0.2.0";
    private const long MiB = 1024 * 1024;

    // Agent:Rejoin is asked for until one registration is accepted; later reconnects never rejoin.
    private bool _rejoin = options.Rejoin;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Capped at 5 s: after a scheduler restart every agent is back within about 5 s of it serving
        // (the measured recovery in the README), and even 500 agents retrying every 5 s are only 100
        // connection attempts a second while it is down.
        var backoff = new Backoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), new Random());
        var info = await WaitForRuntimeAsync(backoff, stoppingToken);
        switch (info.LiveRestore)
        {
            case true:
                LogLiveRestoreOn(log);
                break;
            case false:
                LogLiveRestoreOff(log);
                break;
        }

        startup.SignalDockerReady();
        await startup.Watching.WaitAsync(stoppingToken);
        await supervisor.AdoptAsync(stoppingToken);
        await supervisor.ResyncAsync(stoppingToken);

        backoff.Reset();
        if (security.MustJoin)
        {
            try
            {
                await enrollment.JoinAsync(backoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }

        var client = channel.Client;
        backoff.Reset();
        while (!stoppingToken.IsCancellationRequested)
        {
            var address = channel.Address;
            string? leader = null;
            try
            {
                if (await RunSessionAsync(client, info, backoff, stoppingToken) is { } reason)
                {
                    // The scheduler recorded this node's tasks STOPPED: make it true, then leave. The
                    // exit code is 0, so systemd (Restart=on-failure) does not start the agent again.
                    LogDeregistered(log, reason, supervisor.Count);
                    await supervisor.StopAllAsync("node deregistered", stoppingToken);
                    lifetime.StopApplication();
                    return;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition)
            {
                LogRefused(log, address, e.Status.Detail);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
            {
                // Expired, from another CA, or replaced by a later join. Not a reason to exit: the
                // scheduler may be one restored from a backup that knows this certificate again.
                LogCertificateRefused(log, address, e.Status.Detail);
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or OperationCanceledException or InvalidOperationException)
            {
                // A standby refuses agents with UNAVAILABLE and the leader's address in a trailer.
                leader = LeaderNamedBy(e);
                LogLost(log, address, e.Message);
            }

            if (!await MoveOnAsync(leader, backoff, stoppingToken))
            {
                return;
            }
        }
    }

    /// <summary>The leader's host:port a refusing standby named in its trailer, if it did.</summary>
    public static string? LeaderNamedBy(Exception e) =>
        e is RpcException { StatusCode: StatusCode.Unavailable } refused ? refused.Trailers.GetValue(LeaderTrailer) : null;

    /// <summary>The trailer a standby scheduler names the leader in (the scheduler's LeaderForwardingInterceptor.LeaderTrailer).</summary>
    public const string LeaderTrailer = "orchestrator-leader";

    /// <summary>
    /// After a failed session: to the named leader or the next scheduler at once, or, once every one has
    /// failed in this round, after the capped backoff. False when the agent is stopping.
    /// </summary>
    private async Task<bool> MoveOnAsync(string? leader, Backoff backoff, CancellationToken stoppingToken)
    {
        var move = channel.Addresses.Failed(leader);
        meter.Reconnecting();
        if (move.FollowsLeader)
        {
            LogFollowingLeader(log, move.Failed, move.Next);
            return !stoppingToken.IsCancellationRequested;
        }

        if (!move.RoundFailed)
        {
            LogTryingNext(log, move.Next);
            return !stoppingToken.IsCancellationRequested;
        }

        var delay = backoff.Next();
        LogRetrying(log, delay.TotalSeconds, move.Next);
        try
        {
            await Task.Delay(delay, time, stoppingToken);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <returns>The reason, when the scheduler deregistered this node and the agent should stop; else null.</returns>
    private async Task<string?> RunSessionAsync(AgentService.AgentServiceClient client, RuntimeInfo info, Backoff backoff, CancellationToken stoppingToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var call = client.Connect(cancellationToken: session.Token);
        lease.BeginSession();
        var registerSentAt = time.GetTimestamp();
        await call.RequestStream.WriteAsync(new AgentMessage { Register = Registration(info) }, session.Token);
        if (!await call.ResponseStream.MoveNext(session.Token))
        {
            throw new InvalidOperationException("the scheduler did not answer the registration");
        }

        switch (call.ResponseStream.Current.BodyCase)
        {
            case SchedulerMessage.BodyOneofCase.Deregistered:
                return call.ResponseStream.Current.Deregistered.Reason;
            case not SchedulerMessage.BodyOneofCase.Registered:
                throw new InvalidOperationException("the scheduler did not answer the registration");
        }

        var registered = call.ResponseStream.Current.Registered;
        lease.Renew(registerSentAt);
        _rejoin = false;
        backoff.Reset();
        channel.Addresses.Succeeded();
        var interval = TimeSpan.FromSeconds(Math.Max(1, registered.HeartbeatIntervalSeconds > 0 ? registered.HeartbeatIntervalSeconds : options.HeartbeatInterval.TotalSeconds));
        LogRegistered(log, channel.Address, registered.Node.Cluster, registered.Node.Name, registered.StartTasks.Count, registered.StopTasks.Count);

        var outbox = Channel.CreateUnbounded<AgentMessage>(new UnboundedChannelOptions { SingleReader = true });
        var writer = WriteAllAsync(call.RequestStream, outbox.Reader, session);
        var lastHeard = time.GetTimestamp();
        reports.Attach(outbox.Writer);
        Background(supervisor.ReconcileAsync(registered, stoppingToken), "reconciling with the scheduler");
        var heartbeats = HeartbeatAsync(outbox.Writer, interval, () => lastHeard, session);
        try
        {
            while (await call.ResponseStream.MoveNext(session.Token))
            {
                lastHeard = time.GetTimestamp();
                var message = call.ResponseStream.Current;
                switch (message.BodyCase)
                {
                    case SchedulerMessage.BodyOneofCase.StartTask:
                        Background(supervisor.StartAsync(message.StartTask, stoppingToken), $"starting task {message.StartTask.TaskId}");
                        break;
                    case SchedulerMessage.BodyOneofCase.StopTask:
                        var stop = message.StopTask;
                        Background(supervisor.StopAsync(stop.TaskId, stop.StopCode, stop.Reason, stoppingToken), $"stopping task {stop.TaskId}");
                        break;
                    case SchedulerMessage.BodyOneofCase.HeartbeatAck:
                        lease.Acknowledged(message.HeartbeatAck.Sequence);
                        break;
                    case SchedulerMessage.BodyOneofCase.ReportAck:
                        reports.Acknowledge(message.ReportAck.Sequence);
                        break;
                    case SchedulerMessage.BodyOneofCase.OpenSession:
                        // In the background, on a connection of its own; it ends with this stream.
                        sessions.Open(message.OpenSession, session.Token);
                        break;
                    case SchedulerMessage.BodyOneofCase.CloseSession:
                        sessions.Close(message.CloseSession.SessionId);
                        break;
                    case SchedulerMessage.BodyOneofCase.Deregistered:
                        return message.Deregistered.Reason;
                }
            }

            throw new InvalidOperationException("the scheduler ended the stream");
        }
        finally
        {
            reports.Detach(outbox.Writer);
            outbox.Writer.TryComplete();
            await session.CancelAsync();
            await Task.WhenAll(Quietly(writer), Quietly(heartbeats));
        }
    }

    private RegisterNode Registration(RuntimeInfo info)
    {
        var register = new RegisterNode
        {
            Cluster = options.Cluster,
            NodeName = options.EffectiveNodeName,
            Resources = new Resources
            {
                Cpu = options.CpuOverride ?? Math.Max(1, (info.Cpus * 1024) - options.ReservedCpu),
                Memory = options.MemoryOverride ?? (int)Math.Max(1, (info.MemoryBytes / MiB) - options.ReservedMemory),
            },
            AgentVersion = Version,
            Rejoin = _rejoin,
        };
        register.Attributes.Add(NodeAttributes.Of(runtime.Capabilities, info, options));
        register.Tags.AddRange(options.ParseTags().Select(t => new Tag { Key = t.Key, Value = t.Value }));
        register.Policy = new NodePolicy { AllowPrivileged = identity.Workload.AllowPrivileged, AllowedHostPaths = { identity.Workload.AllowedHostPaths } };
        register.Tasks.AddRange(supervisor.CurrentReports());
        return register;
    }

    private async Task<RuntimeInfo> WaitForRuntimeAsync(Backoff backoff, CancellationToken stoppingToken)
    {
        var reported = false;
        while (true)
        {
            try
            {
                var info = await runtime.InfoAsync(stoppingToken);
                if (reported)
                {
                    LogRuntimeBack(log, RuntimeRegistration.Describe(options));
                }

                return info;
            }
            catch (RuntimeUnavailableException e)
            {
                if (!reported)
                {
                    LogRuntimeUnreachable(log, e.Message);
                    reported = true;
                }

                await Task.Delay(backoff.Next(), time, stoppingToken);
            }
        }
    }

    private static async Task WriteAllAsync(IClientStreamWriter<AgentMessage> stream, ChannelReader<AgentMessage> outbox, CancellationTokenSource session)
    {
        try
        {
            await foreach (var message in outbox.ReadAllAsync(session.Token))
            {
                await stream.WriteAsync(message, session.Token);
            }
        }
        catch (Exception) when (!session.IsCancellationRequested)
        {
            // A failed write ends the session; the reports stay pending for the next one.
            await session.CancelAsync();
        }
    }

    /// <summary>Sends heartbeats and ends the session when the scheduler has been silent for three intervals.</summary>
    private async Task HeartbeatAsync(ChannelWriter<AgentMessage> outbox, TimeSpan interval, Func<long> lastHeard, CancellationTokenSource session)
    {
        ulong sequence = 0;
        while (!session.IsCancellationRequested)
        {
            await Task.Delay(interval, time, session.Token);
            lease.Sending(++sequence);
            outbox.TryWrite(new AgentMessage { Heartbeat = new Heartbeat { Sequence = sequence } });
            if (time.GetElapsedTime(lastHeard()) > interval * 3)
            {
                LogSilent(log, (interval * 3).TotalSeconds);
                await session.CancelAsync();
            }
        }
    }

    private void Background(Task work, string what)
    {
        _ = work.ContinueWith(
            t => LogBackgroundFailed(log, what, t.Exception?.GetBaseException().Message ?? "cancelled"),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
            // The session is over.
        }
    }

    [LoggerMessage(1, LogLevel.Error, "{Problem}; retrying until it answers")]
    private static partial void LogRuntimeUnreachable(ILogger logger, string problem);

    [LoggerMessage(2, LogLevel.Information, "{Runtime} answers again")]
    private static partial void LogRuntimeBack(ILogger logger, string runtime);

    [LoggerMessage(3, LogLevel.Information, "Registered with the scheduler at {Address} as {Cluster}/{Node}; it has {Start} tasks to run and {Stop} to stop here")]
    private static partial void LogRegistered(ILogger logger, string address, string cluster, string node, int start, int stop);

    [LoggerMessage(4, LogLevel.Warning, "Lost the scheduler at {Address}: {Problem}")]
    private static partial void LogLost(ILogger logger, string address, string problem);

    [LoggerMessage(5, LogLevel.Error, "The scheduler at {Address} refused this agent: {Problem}")]
    private static partial void LogRefused(ILogger logger, string address, string problem);

    [LoggerMessage(6, LogLevel.Information, "Reconnecting in {Seconds:0.0} s, to the scheduler at {Address}")]
    private static partial void LogRetrying(ILogger logger, double seconds, string address);

    [LoggerMessage(13, LogLevel.Information, "The scheduler at {Address} is a standby; connecting to the leader at {Leader}")]
    private static partial void LogFollowingLeader(ILogger logger, string address, string leader);

    [LoggerMessage(14, LogLevel.Information, "Trying the next scheduler, at {Address}")]
    private static partial void LogTryingNext(ILogger logger, string address);

    [LoggerMessage(7, LogLevel.Warning, "The scheduler was silent for {Seconds} s; reconnecting")]
    private static partial void LogSilent(ILogger logger, double seconds);

    [LoggerMessage(8, LogLevel.Warning, "The scheduler deregistered this node ({Reason}); stopping its {Tasks} tasks, and the agent stops")]
    private static partial void LogDeregistered(ILogger logger, string reason, int tasks);

    [LoggerMessage(9, LogLevel.Error, "Failed {What}: {Problem}")]
    private static partial void LogBackgroundFailed(ILogger logger, string what, string problem);

    [LoggerMessage(11, LogLevel.Information, "Docker's live-restore is on: tasks keep running while dockerd restarts")]
    private static partial void LogLiveRestoreOn(ILogger logger);

    [LoggerMessage(12, LogLevel.Warning, "Docker's live-restore is off: a restart of dockerd (an upgrade, a crash) stops every task on this node. Set \"live-restore\": true in /etc/docker/daemon.json and reload dockerd (deploy/systemd/install.sh offers to)")]
    private static partial void LogLiveRestoreOff(ILogger logger);

    [LoggerMessage(10, LogLevel.Error, "The scheduler at {Address} refused this node's certificate: {Problem}; retrying. If it was replaced or expired, start the agent once with Agent:Rejoin=true and Agent:JoinToken")]
    private static partial void LogCertificateRefused(ILogger logger, string address, string problem);
}
