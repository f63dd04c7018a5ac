using Grpc.Core;
using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.Security;

/// <summary>The node an agent's call comes from, as its client certificate names it.</summary>
/// <param name="Thumbprint">Of the certificate, so a second stream can be told apart from the same agent's.</param>
/// <param name="Current">The certificate is the node's newest (not the one before a renewal).</param>
internal sealed record AgentIdentity(string Cluster, string Node, string Thumbprint, bool Current);

/// <summary>
/// Takes an agent's identity from its client certificate (mutual TLS), never from what it says: the
/// certificate must come from the cluster CA, be valid now, and be one the node still holds (not from
/// before it last joined, not revoked by DeregisterNode). The TLS handshake accepts any certificate;
/// this is the check, so that the refusal is a clear gRPC status rather than a broken connection.
/// </summary>
internal sealed partial class AgentAuthenticator(ClusterSecurity security, ClusterState state, SchedulerOptions options, TimeProvider time, ILogger<AgentAuthenticator> log)
{
    /// <summary>Whether agents are identified by certificate; false only for a Scheduler:Insecure scheduler.</summary>
    public bool Required => !options.Insecure;

    /// <summary>The caller's identity; throws UNAUTHENTICATED (with the reason) when its certificate does not do.</summary>
    /// <exception cref="NodeDeregisteredException">The certificate is this CA's but its node was deregistered.</exception>
    public AgentIdentity Authenticate(ServerCallContext context)
    {
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        if (certificate is null)
        {
            throw Refuse(context, "a client certificate is required: the agent must join the cluster with a join token first");
        }

        if (security.Ca.Verify(certificate, time.GetUtcNow(), out var problem) is not var (cluster, node, serial))
        {
            throw Refuse(context, problem);
        }

        var identity = state.IdentityOf(cluster, node);
        if (identity is null)
        {
            throw Refuse(context, $"node \"{node}\" of cluster \"{cluster}\" has not joined this scheduler");
        }

        if (identity.Revoked)
        {
            LogRefused(log, Echo.Escape(context.Method), Echo.Escape(context.Peer), $"node {cluster}/{node} was deregistered; its certificate is revoked");
            throw new NodeDeregisteredException($"node \"{node}\" was deregistered and its certificate revoked; join again with a join token (Agent:Rejoin=true) to register it again");
        }

        if (serial != identity.Serial && serial != identity.PreviousSerial)
        {
            throw Refuse(context, $"this certificate of node \"{node}\" was replaced when the node joined again");
        }

        return new AgentIdentity(cluster, node, certificate.Thumbprint, serial == identity.Serial);
    }

    private RpcException Refuse(ServerCallContext context, string problem)
    {
        LogRefused(log, Echo.Escape(context.Method), Echo.Escape(context.Peer), problem);
        return new RpcException(new Status(StatusCode.Unauthenticated, $"certificate: {problem}"));
    }

    [LoggerMessage(LogEvents.AgentCallRefused, LogLevel.Warning, "Refused agent call {Method} from {Peer}: {Problem}")]
    private static partial void LogRefused(ILogger logger, string method, string peer, string problem);
}
