using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Agents.Sessions;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Agents;

/// <summary>The agent's side of a task session (logs or exec), opened by the agent when asked on Connect.</summary>
internal sealed partial class AgentApi
{
    /// <summary>
    /// Reads the agent's hello, checks who it is (as Connect does: its certificate's node, with TLS),
    /// joins the session the hello names and hands the streams to the client's handler, which does the
    /// reading and writing. The call lasts as long as the client's side of the session: ending it is
    /// how the agent is told to stop reading the logs, or to kill the command.
    /// </summary>
    public override async Task Session(IAsyncStreamReader<AgentSessionMessage> requestStream, IServerStreamWriter<SchedulerSessionMessage> responseStream, ServerCallContext context)
    {
        using var open = stopping.Open();
        var hello = await ReadHello(requestStream, context.CancellationToken);
        AgentIdentity? identity = null;
        if (authenticator.Required)
        {
            try
            {
                identity = authenticator.Authenticate(context);
            }
            catch (NodeDeregisteredException e)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, $"certificate: {e.Message}"));
            }
        }

        using var session = sessions.Join(hello.SessionId, identity, new AgentEnd(requestStream, responseStream, context.CancellationToken));

        // Not cancelled by the agent's call ending: the client's handler may be inside a read of this
        // call's stream then, and sees the end there; it ends the session once it has let go of the streams.
        await session.Ended;
    }

    private async Task<SessionHello> ReadHello(IAsyncStreamReader<AgentSessionMessage> requestStream, CancellationToken cancellation)
    {
        var first = await Api.StreamHello.ReadFirstAsync(requestStream, SessionBroker.OpenTimeout, time, stopping, cancellation);
        return first.BodyCase == AgentSessionMessage.BodyOneofCase.Hello
            ? first.Hello
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "hello: the first message of a session must be hello"));
    }
}
