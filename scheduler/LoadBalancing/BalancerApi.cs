using System.Text.RegularExpressions;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>
/// BalancerService.Connect, the stream of each orchestrator-balancer: it says hello (its name and the
/// target groups it serves), is sent its target groups' targets at once and again after every commit
/// that changes them (one assignment at a time, always the latest, none identical to the one before),
/// and reports what HAProxy's checks find, which goes to the <see cref="TargetHealthBook"/>. Served by
/// the leader: a standby forwards the stream to it as it forwards every other call.
/// </summary>
internal sealed partial class BalancerApi(
    LoadBalancingFeed feed,
    TargetHealthBook book,
    BalancerConnections connections,
    SchedulerStopping stopping,
    ILeadership leadership,
    TimeProvider time,
    ILogger<BalancerApi> log) : BalancerService.BalancerServiceBase
{
    public static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(30);

    /// <summary>As many target groups as one hello may name.</summary>
    public const int MaxTargetGroups = 1000;

    public override async Task Connect(IAsyncStreamReader<BalancerMessage> requestStream, IServerStreamWriter<BalancerAssignment> responseStream, ServerCallContext context)
    {
        using var open = stopping.Open();
        var hello = await ReadHello(requestStream, context.CancellationToken);
        var (name, groups) = Validate(hello);
        using var connection = new BalancerConnection(name, groups);
        if (connections.Add(connection) is not null)
        {
            LogReplaced(log, name);
        }

        book.Attach(name, connection.Id, groups, time.GetUtcNow());
        LogConnected(log, name, groups.Count, Echo.Clip(hello.Version), NodeAddress.HostOfPeer(context.Peer));
        var revoked = TokenAuthInterceptor.CallerOf(context)?.Revoked ?? CancellationToken.None;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, connection.Replaced, stopping.Token, leadership.Deposed, revoked);
        using var pumping = CancellationTokenSource.CreateLinkedTokenSource(ending.Token);
        using var listening = feed.Listen(connection.Signal);
        connection.Signal(); // the first assignment, at once
        var pump = PumpAsync(connection, responseStream, pumping.Token, context.CancellationToken);
        try
        {
            await ReadReports(requestStream, connection, ending.Token);
            LogDisconnected(log, name, "the balancer ended its stream");
        }
        catch (OperationCanceledException) when (connection.Replaced.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            LogDisconnected(log, name, "replaced by a newer stream of the same name");
            throw new RpcException(new Status(StatusCode.Aborted, $"balancer \"{name}\" connected again on another stream, which replaces this one"));
        }
        catch (OperationCanceledException) when (revoked.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            LogDisconnected(log, name, "its token was revoked");
            throw new RpcException(new Status(StatusCode.Unauthenticated, "authorization: the token was revoked"));
        }
        catch (OperationCanceledException) when (leadership.Deposed.IsCancellationRequested && !stopping.IsStopping && !context.CancellationToken.IsCancellationRequested)
        {
            LogDeposed(log, name);
            throw new RpcException(new Status(StatusCode.Unavailable, $"not the leader any more: {leadership.NotLeaderReason ?? "its lease was lost"}; reconnect"),
                leadership.LeaderAddress is { } leader && !leadership.IsLeader ? new Metadata { { LeaderForwardingInterceptor.LeaderTrailer, leader } } : []);
        }
        catch (OperationCanceledException) when (stopping.IsStopping && !context.CancellationToken.IsCancellationRequested)
        {
            LogDisconnected(log, name, "the scheduler is stopping");
            throw SchedulerStopping.Unavailable();
        }
        catch (Exception e) when (e is IOException || (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            // The balancer went away without ending its stream (killed, network lost): not an error here.
            LogAborted(log, name, e.Message);
        }
        finally
        {
            await pumping.CancelAsync();
            await pump;
            connections.Remove(connection);
            book.Detach(name, connection.Id);
        }
    }

    /// <summary>The hello's name and target groups, checked; INVALID_ARGUMENT naming the field otherwise.</summary>
    public static (string Name, IReadOnlyList<string> TargetGroups) Validate(BalancerHello hello)
    {
        if (!NamePattern().IsMatch(hello.Name))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"hello.name: must be 1 to 64 letters, digits, '.', '_' or '-', not \"{Echo.Clip(hello.Name)}\""));
        }

        if (hello.TargetGroups.Count > MaxTargetGroups)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"hello.targetGroups: at most {MaxTargetGroups} target groups, not {hello.TargetGroups.Count}"));
        }

        for (var i = 0; i < hello.TargetGroups.Count; i++)
        {
            // A group not created yet is fine (it is served once it is); a name no group can have is a mistake.
            if (!GroupPattern().IsMatch(hello.TargetGroups[i]))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"hello.targetGroups[{i}]: a target group name is 1 to 32 letters, digits and hyphens, not \"{Echo.Clip(hello.TargetGroups[i])}\""));
            }
        }

        return (hello.Name, [.. hello.TargetGroups.Distinct(StringComparer.Ordinal)]);
    }

    private async Task PumpAsync(BalancerConnection connection, IServerStreamWriter<BalancerAssignment> responseStream, CancellationToken waiting, CancellationToken call)
    {
        long version = 0;
        Google.Protobuf.Collections.RepeatedField<BalancedTargetGroup>? last = null;
        try
        {
            await foreach (var _ in connection.Signals.ReadAllAsync(waiting))
            {
                var snapshot = feed.Targets();
                var groups = BalancerAssignments.For(snapshot, connection.TargetGroups);
                if (last is not null && groups.Equals(last))
                {
                    continue;
                }

                book.Assigned(connection.Name, connection.Id, BalancerAssignments.TargetsOf(snapshot, connection.TargetGroups));

                // Written with the call's token, never cut half-way (that would abort the HTTP/2 stream).
                var assignment = new BalancerAssignment { Version = ++version };
                assignment.TargetGroups.AddRange(groups);
                await responseStream.WriteAsync(assignment, call);
                last = groups;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException)
        {
            // The stream is ending (or the call completed while writing): the read loop says how.
        }
    }

    private async Task ReadReports(IAsyncStreamReader<BalancerMessage> requestStream, BalancerConnection connection, CancellationToken cancellation)
    {
        while (await requestStream.MoveNext(cancellation))
        {
            var message = requestStream.Current;
            switch (message.BodyCase)
            {
                case BalancerMessage.BodyOneofCase.Report:
                    book.Report(connection.Name, connection.Id, message.Report, time.GetUtcNow());
                    break;
                case BalancerMessage.BodyOneofCase.Hello:
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, "hello: this stream said hello already; open a new stream to say it again"));
                default:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "body: empty or unknown balancer message"));
            }
        }
    }

    private async Task<BalancerHello> ReadHello(IAsyncStreamReader<BalancerMessage> requestStream, CancellationToken cancellation)
    {
        var first = await Api.StreamHello.ReadFirstAsync(requestStream, HelloTimeout, time, stopping, cancellation);
        return first.BodyCase == BalancerMessage.BodyOneofCase.Hello
            ? first.Hello
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "hello: the first message of a balancer's stream must be hello"));
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}\\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9-]{1,32}\\z")]
    private static partial Regex GroupPattern();

    [LoggerMessage(LogEvents.BalancerConnected, LogLevel.Information, "Balancer {Balancer} connected from {Peer} (orchestrator-balancer {Version}), serving {Groups} target groups (0: all)")]
    private static partial void LogConnected(ILogger logger, string balancer, int groups, string version, string peer);

    [LoggerMessage(LogEvents.BalancerDisconnected, LogLevel.Information, "Balancer {Balancer} disconnected: {Reason}")]
    private static partial void LogDisconnected(ILogger logger, string balancer, string reason);

    [LoggerMessage(LogEvents.BalancerReplaced, LogLevel.Information, "Balancer {Balancer} connected again; its earlier stream is ended")]
    private static partial void LogReplaced(ILogger logger, string balancer);

    [LoggerMessage(LogEvents.BalancerStreamAborted, LogLevel.Information, "Balancer {Balancer}'s stream broke off: {Problem}")]
    private static partial void LogAborted(ILogger logger, string balancer, string problem);

    [LoggerMessage(LogEvents.BalancerStreamDeposed, LogLevel.Information, "Balancer {Balancer}'s stream ended: this scheduler is no longer the leader")]
    private static partial void LogDeposed(ILogger logger, string balancer);
}
