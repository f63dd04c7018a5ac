using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Agents.Sessions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;

namespace Orchestrator.Scheduler.Api.TaskIo;

/// <summary>
/// Reads an open session's messages from the agent, for the client's handler, and says why the session
/// ends when it ends other than by the agent completing it: the client went (OperationCanceledException,
/// nothing to tell), its token was revoked, the scheduler is stopping, or the node's agent went (its
/// Connect stream, or the Session call, broke off): each with the status that says which.
/// </summary>
internal sealed class AgentOutput : IDisposable
{
    private readonly TaskSession _session;
    private readonly AgentEnd _agent;
    private readonly CancellationToken _client;
    private readonly CancellationToken _revoked;
    private readonly SchedulerStopping _stopping;
    private readonly CancellationTokenSource _ending;

    /// <param name="abort">Ends the reading too, for a cause the caller tells apart itself (exec's input failing).</param>
    public AgentOutput(TaskSession session, AgentEnd agent, ServerCallContext client, SchedulerStopping stopping, CancellationToken abort = default)
    {
        _session = session;
        _agent = agent;
        _client = client.CancellationToken;
        _revoked = TokenAuthInterceptor.CallerOf(client)?.Revoked ?? CancellationToken.None;
        _stopping = stopping;
        _ending = CancellationTokenSource.CreateLinkedTokenSource([_client, agent.Gone, session.NodeStream.Closed, stopping.Token, _revoked, abort]);
    }

    /// <summary>Cancelled when the session must end for any of the causes above.</summary>
    public CancellationToken Ending => _ending.Token;

    /// <summary>The agent's next message, as it comes (nothing is read ahead); null when the agent completed its stream.</summary>
    public async Task<AgentSessionMessage?> NextAsync()
    {
        try
        {
            return await _agent.Messages.MoveNext(_ending.Token) ? _agent.Messages.Current : null;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or RpcException)
        {
            throw Why();
        }
    }

    /// <summary>Why the session is ending, as the client is to hear it, for a read or write that broke off.</summary>
    public Exception Why() =>
        _client.IsCancellationRequested ? new OperationCanceledException(_client)
        : _revoked.IsCancellationRequested ? new RpcException(new Status(StatusCode.Unauthenticated, "authorization: the token was revoked"))
        : _stopping.IsStopping ? SchedulerStopping.Unavailable()
        : SessionBroker.NodeDisconnected(_session.Node);

    /// <summary>The agent's failure, as the status of the client's call.</summary>
    public static RpcException Failed(SessionFailed failed)
    {
        var code = (StatusCode)failed.StatusCode;
        if (code == StatusCode.OK || !Enum.IsDefined(code))
        {
            code = StatusCode.Unknown;
        }

        return new RpcException(new Status(code, Echo.Escape(failed.Message)));
    }

    /// <summary>A message that has no place in this kind of session: the agent broke the protocol.</summary>
    public RpcException Unexpected(AgentSessionMessage message) =>
        new(new Status(StatusCode.Internal, $"node {_session.Node}'s agent sent {message.BodyCase} on a {_session.Kind.ToString().ToLowerInvariant()} session"));

    public void Dispose() => _ending.Dispose();
}
