using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Connection;
using Orchestrator.Agent.Security;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Sessions;

/// <summary>Opens AgentService/Session calls; a fake in tests.</summary>
internal interface ISessionChannel
{
    /// <summary>Opens one session's call. Disposing it ends the call and whatever connection it has.</summary>
    ISessionCall Open(CancellationToken cancellation);
}

/// <summary>One AgentService/Session call: the agent writes, the scheduler answers (exec input).</summary>
internal interface ISessionCall : IDisposable
{
    IClientStreamWriter<AgentSessionMessage> ToScheduler { get; }

    IAsyncStreamReader<SchedulerSessionMessage> FromScheduler { get; }
}

/// <summary>
/// Each session on an HTTP/2 connection of its own, with Connect's TLS settings and certificate: a
/// client that reads slowly fills its session's flow-control windows, the stream's and the connection's
/// (which the scheduler credits only as it reads), and so holds back neither Connect's reports and
/// commands nor the other sessions. A session is rare next to its cost (one handshake). It goes to the
/// scheduler the agent's Connect stream is with (<see cref="SchedulerChannel.Address"/>), which asked for it.
/// </summary>
internal sealed class SessionChannel(SchedulerChannel scheduler, AgentSecurity security, NodeCredentialsHolder credentials, ILogger<SessionChannel> log) : ISessionChannel
{
    public ISessionCall Open(CancellationToken cancellation)
    {
        var channel = GrpcChannel.ForAddress(scheduler.Address, new GrpcChannelOptions
        {
            HttpHandler = SchedulerChannel.CreateHandler(security, credentials, log),
            DisposeHttpClient = true,
        });
        try
        {
            var call = new AgentService.AgentServiceClient(channel).Session(cancellationToken: cancellation);
            return new GrpcSessionCall(channel, call);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    private sealed class GrpcSessionCall(GrpcChannel channel, AsyncDuplexStreamingCall<AgentSessionMessage, SchedulerSessionMessage> call) : ISessionCall
    {
        public IClientStreamWriter<AgentSessionMessage> ToScheduler => call.RequestStream;

        public IAsyncStreamReader<SchedulerSessionMessage> FromScheduler => call.ResponseStream;

        public void Dispose()
        {
            call.Dispose();
            channel.Dispose();
        }
    }
}
