using Grpc.Core;
using Orchestrator.Scheduler.HA;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using Orchestrator.Scheduler.Agents.Sessions;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Agents;

/// <summary>
/// The agent protocol's server side: one Connect stream per agent. The first message registers the
/// node; then heartbeats and task reports come up and commands go down until either side ends it.
/// </summary>
internal sealed partial class AgentApi(
    ClusterState state,
    ReportCommitter reports,
    AgentAuthenticator authenticator,
    NodeCertificates certificates,
    SchedulerStopping stopping,
    SessionBroker sessions,
    ILeadership leadership,
    TimeProvider time,
    ILogger<AgentApi> log) : AgentService.AgentServiceBase
{
    private static readonly TimeSpan RegisterTimeout = TimeSpan.FromSeconds(30);

    public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<SchedulerMessage> responseStream, ServerCallContext context)
    {
        using var open = stopping.Open();
        using var session = new AgentSession();
        AgentWelcome welcome;
        string nodeKey;
        try
        {
            // The registration is read first, so that whatever the answer (Deregistered, or a refusal) the
            // agent's write of it has gone through and it reads the answer. Who the agent is then comes
            // from its certificate alone.
            var first = await ReadRegistration(requestStream, stopping.Token, context.CancellationToken);

            // A leader just elected may still be applying its predecessor's last commits: an agent
            // welcomed from that memory would miss a start or a stop made in them (none is sent for a
            // commit applied as replicated). It comes back once the takeover is done.
            if (!state.Writable)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, "this scheduler was just elected and is still catching up with the store; reconnect"));
            }
            var identity = authenticator.Required ? authenticator.Authenticate(context) : null;
            var registration = RegistrationValidator.Validate(first) with { PeerHost = LoadBalancing.NodeAddress.HostOfPeer(context.Peer) };
            if (identity is not null)
            {
                if (registration.Cluster != identity.Cluster || registration.NodeName != identity.Node)
                {
                    throw new RpcException(new Status(StatusCode.PermissionDenied,
                        $"register.nodeName: this agent's certificate is for node \"{identity.Node}\" of cluster \"{identity.Cluster}\", not \"{Echo.Clip(registration.NodeName)}\" of \"{registration.Cluster}\""));
                }

                // With certificates, only a new join (with the join token) brings a deregistered node back.
                registration = registration with { Rejoin = false };
            }

            nodeKey = NodeRecord.KeyOf(registration.Cluster, registration.NodeName);
            welcome = state.RegisterAgent(registration, session, first.Tasks, identity is null ? null : new SessionCredential(identity.Thumbprint, identity.Current));
        }
        catch (NodeDeregisteredException e)
        {
            // The answer instead of Registered; the call then ends with OK, so the agent reads it.
            await responseStream.WriteAsync(new SchedulerMessage { Deregistered = new Deregistered { Reason = e.Message } }, context.CancellationToken);
            return;
        }

        try
        {
            // Registered goes out before anything the session queued meanwhile: the pump starts after it.
            await responseStream.WriteAsync(ToMessage(welcome), context.CancellationToken);
            // A deposed leader ends its agents' streams at once: they find the new leader (the trailer names it).
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, session.Closed, stopping.Token, leadership.Deposed);
            var pump = PumpAsync(session, responseStream, context.CancellationToken);
            try
            {
                await ReadLoop(requestStream, nodeKey, session, ending.Token);
            }
            catch (OperationCanceledException) when (session.Closed.IsCancellationRequested)
            {
                LogSessionClosed(log, nodeKey);
            }
            catch (Exception e) when (e is IOException || (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
            {
                // The agent went away without ending its stream (killed, network lost): not an error here.
                LogStreamAborted(log, nodeKey, e.Message);
            }
            catch (OperationCanceledException) when (leadership.Deposed.IsCancellationRequested && !stopping.IsStopping)
            {
                LogDeposed(log, nodeKey);
                throw new RpcException(new Status(StatusCode.Unavailable, $"not the leader any more: {leadership.NotLeaderReason ?? "its lease was lost"}; reconnect"),
                    leadership.LeaderAddress is { } leader && !leadership.IsLeader ? new Metadata { { HA.LeaderForwardingInterceptor.LeaderTrailer, leader } } : []);
            }
            catch (OperationCanceledException) when (stopping.IsStopping)
            {
                // The agent reads this as a lost connection: it keeps its tasks running and reconnects
                // with its backoff, to this scheduler once it is back or to whatever serves the address.
                LogStopping(log, nodeKey);
                throw SchedulerStopping.Unavailable();
            }
            finally
            {
                session.Close();
                await pump;
            }
        }
        finally
        {
            state.Disconnect(nodeKey, session);
        }
    }

    public override Task<GetCaCertificateResponse> GetCaCertificate(GetCaCertificateRequest request, ServerCallContext context) =>
        authenticator.Required
            ? Task.FromResult(new GetCaCertificateResponse { CaCertificatePem = certificates.CaCertificatePem })
            : throw new RpcException(new Status(StatusCode.FailedPrecondition, "this scheduler runs with Scheduler:Insecure: it serves no TLS and no CA"));

    public override Task<JoinResponse> Join(JoinRequest request, ServerCallContext context)
    {
        if (!authenticator.Required)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "this scheduler runs with Scheduler:Insecure: agents register by name over cleartext and do not join"));
        }

        var (certificate, ca, expires) = certificates.Join(request, context);
        return Task.FromResult(new JoinResponse { CertificatePem = certificate, CaCertificatePem = ca, ExpiresAt = Timestamps.From(expires) });
    }

    public override Task<RenewCertificateResponse> RenewCertificate(RenewCertificateRequest request, ServerCallContext context)
    {
        if (!authenticator.Required)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "this scheduler runs with Scheduler:Insecure: there are no certificates to renew"));
        }

        AgentIdentity identity;
        try
        {
            identity = authenticator.Authenticate(context);
        }
        catch (NodeDeregisteredException e)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"certificate: {e.Message}"));
        }

        var (certificate, ca, expires) = certificates.Renew(identity, request.Csr);
        return Task.FromResult(new RenewCertificateResponse { CertificatePem = certificate, CaCertificatePem = ca, ExpiresAt = Timestamps.From(expires) });
    }

    private async Task ReadLoop(IAsyncStreamReader<AgentMessage> requestStream, string nodeKey, AgentSession session, CancellationToken cancellation)
    {
        while (await requestStream.MoveNext(cancellation))
        {
            var message = requestStream.Current;
            switch (message.BodyCase)
            {
                case AgentMessage.BodyOneofCase.Heartbeat:
                    // Acknowledged only when it counted: the agent's fence runs from the heartbeats it
                    // sees acknowledged, so an ack must never promise more than LastHeartbeatAt says.
                    if (state.Heartbeat(nodeKey, session))
                    {
                        session.TrySend(new SchedulerMessage { HeartbeatAck = new HeartbeatAck { Sequence = message.Heartbeat.Sequence } });
                    }

                    break;
                case AgentMessage.BodyOneofCase.TaskState:
                    // Applied, saved and acknowledged with whatever else arrived meanwhile.
                    reports.Enqueue(new AgentReport(nodeKey, session, message.TaskState));
                    break;
                case AgentMessage.BodyOneofCase.Register:
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, "register: this stream is already registered; open a new stream to register again"));
                default:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "body: empty or unknown agent message"));
            }
        }
    }

    private static async Task PumpAsync(AgentSession session, IServerStreamWriter<SchedulerMessage> responseStream, CancellationToken cancellation)
    {
        try
        {
            await foreach (var message in session.Outbox.ReadAllAsync(cancellation))
            {
                await responseStream.WriteAsync(message, cancellation);
            }
        }
        catch (OperationCanceledException)
        {
            // The call ended; undelivered commands are sent again when the agent re-registers.
        }
        catch (InvalidOperationException)
        {
            // The call completed while writing.
        }
    }

    private async Task<RegisterNode> ReadRegistration(IAsyncStreamReader<AgentMessage> requestStream, CancellationToken stoppingToken, CancellationToken cancellation)
    {
        using var timeout = new CancellationTokenSource(RegisterTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, timeout.Token, stoppingToken);
        try
        {
            if (!await requestStream.MoveNext(linked.Token))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "register: the stream ended before a RegisterNode message"));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            // Registering now would hand the node to a scheduler that is going: come back to the next one.
            throw SchedulerStopping.Unavailable();
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"register: no RegisterNode message within {RegisterTimeout.TotalSeconds:0} s"));
        }

        var first = requestStream.Current;
        return first.BodyCase == AgentMessage.BodyOneofCase.Register
            ? first.Register
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "register: the first message must be RegisterNode"));
    }

    private static SchedulerMessage ToMessage(AgentWelcome welcome)
    {
        var registered = new Registered
        {
            Node = NodeMapper.ToContract(welcome.Node),
            HeartbeatIntervalSeconds = (int)Math.Max(1, welcome.HeartbeatInterval.TotalSeconds),
        };
        registered.StartTasks.AddRange(welcome.Start);
        registered.StopTasks.AddRange(welcome.Stop);
        return new SchedulerMessage { Registered = registered };
    }

    [LoggerMessage(LogEvents.AgentStreamDeposed, LogLevel.Information, "Agent stream of {Node} ended: this scheduler is no longer the leader")]
    private static partial void LogDeposed(ILogger logger, string node);

    [LoggerMessage(LogEvents.AgentStreamStopping, LogLevel.Debug, "Agent stream of {Node} ended: the scheduler is stopping")]
    private static partial void LogStopping(ILogger logger, string node);

    [LoggerMessage(LogEvents.AgentStreamAborted, LogLevel.Information, "Agent stream of {Node} broke off: {Problem}")]
    private static partial void LogStreamAborted(ILogger logger, string node, string problem);

    [LoggerMessage(LogEvents.AgentSessionClosed, LogLevel.Information, "Agent stream of {Node} closed by the scheduler")]
    private static partial void LogSessionClosed(ILogger logger, string node);
}
