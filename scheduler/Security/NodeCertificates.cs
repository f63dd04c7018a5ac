using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Scheduler.Security;

/// <summary>Issues node certificates: to a node joining with the join token, and to a node renewing its own.</summary>
internal sealed partial class NodeCertificates(ClusterSecurity security, JoinTokens joinTokens, ClusterState state, TimeProvider time, ILogger<NodeCertificates> log)
{
    private const int MaxCsrBytes = 16 * 1024;

    public string CaCertificatePem => security.Ca.CertificatePem;

    /// <summary>Checks the join token and the name, signs the CSR, and records the node's new identity.</summary>
    public (string Certificate, string Ca, DateTimeOffset Expires) Join(JoinRequest request, ServerCallContext context)
    {
        switch (joinTokens.Check(request.JoinToken))
        {
            case JoinTokenProblem.Malformed:
                throw Refuse(context, StatusCode.InvalidArgument, "joinToken: is not a join token: expected ORCH-1-<CA digest>-<secret>");
            case JoinTokenProblem.OtherCa:
                throw Refuse(context, StatusCode.Unauthenticated, "joinToken: is for another cluster: its CA digest is not this scheduler's");
            case JoinTokenProblem.Wrong:
                throw Refuse(context, StatusCode.Unauthenticated, "joinToken: is not valid (wrong, or rotated since)");
        }

        var cluster = Names.Cluster(request.Cluster);
        var node = Names.Node(request.NodeName, "nodeName");
        state.RequireJoinable(cluster, node);
        var (certificate, serial) = Sign(request.Csr, cluster, node);
        state.RecordJoin(cluster, node, serial);
        LogJoined(log, cluster, node, Echo.Escape(context.Peer), certificate.NotAfter);
        return Answer(certificate);
    }

    /// <summary>A new certificate for the node the caller's current certificate names.</summary>
    public (string Certificate, string Ca, DateTimeOffset Expires) Renew(AgentIdentity identity, Google.Protobuf.ByteString csr)
    {
        var (certificate, serial) = Sign(csr, identity.Cluster, identity.Node);
        state.RecordRenewal(identity.Cluster, identity.Node, serial);
        LogRenewed(log, identity.Cluster, identity.Node, certificate.NotAfter);
        return Answer(certificate);
    }

    private (System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate, string Serial) Sign(Google.Protobuf.ByteString csr, string cluster, string node)
    {
        if (csr.IsEmpty)
        {
            throw RequestException.Invalid("csr", "a PKCS#10 certificate signing request (DER) is required");
        }

        if (csr.Length > MaxCsrBytes)
        {
            throw RequestException.Invalid("csr", $"must be at most {MaxCsrBytes} bytes, not {csr.Length}");
        }

        try
        {
            return security.Ca.SignNode(csr.ToByteArray(), cluster, node, security.Options.NodeCertificateLifetime, time.GetUtcNow());
        }
        catch (CryptographicException e)
        {
            throw RequestException.Invalid("csr", $"is not a valid PKCS#10 certificate signing request: {e.Message}");
        }
    }

    private (string, string, DateTimeOffset) Answer(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        using (certificate)
        {
            return (certificate.ExportCertificatePem(), security.Ca.CertificatePem, new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
        }
    }

    private RpcException Refuse(ServerCallContext context, StatusCode code, string detail)
    {
        LogJoinRefused(log, Echo.Escape(context.Peer), detail);
        return new RpcException(new Status(code, detail));
    }

    [LoggerMessage(LogEvents.NodeJoined, LogLevel.Information, "Node {Cluster}/{Node} joined from {Peer}; its certificate is valid until {NotAfter:u}")]
    private static partial void LogJoined(ILogger logger, string cluster, string node, string peer, DateTime notAfter);

    [LoggerMessage(LogEvents.NodeCertificateRenewed, LogLevel.Information, "Node {Cluster}/{Node} renewed its certificate; valid until {NotAfter:u}")]
    private static partial void LogRenewed(ILogger logger, string cluster, string node, DateTime notAfter);

    [LoggerMessage(LogEvents.JoinRefused, LogLevel.Warning, "Refused a join from {Peer}: {Detail}")]
    private static partial void LogJoinRefused(ILogger logger, string peer, string detail);
}
