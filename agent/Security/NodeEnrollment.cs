using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Connection;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Security;

/// <summary>
/// The first join (and a deliberate rejoin), as Swarm joins: the cluster CA is fetched (nothing secret
/// sent) and checked against the digest in the join token; then a new key and CSR go with the token
/// over a TLS connection that trusts exactly that CA, so only the real scheduler ever sees the token;
/// the certificate and CA are saved and become the node's credentials.
/// </summary>
internal sealed partial class NodeEnrollment(
    AgentOptions options,
    AgentSecurity security,
    NodeCredentialStore store,
    NodeCredentialsHolder credentials,
    SchedulerChannel scheduler,
    TimeProvider time,
    ILogger<NodeEnrollment> log)
{
    /// <summary>Joins, retrying with <paramref name="backoff"/> until the scheduler answers a certificate.</summary>
    public async Task JoinAsync(Backoff backoff, CancellationToken stoppingToken)
    {
        var token = security.JoinToken ?? throw new InvalidOperationException("joining needs Agent:JoinToken");
        while (true)
        {
            stoppingToken.ThrowIfCancellationRequested();
            var address = scheduler.Address;
            string? leader = null;
            LogJoining(log, address, options.Cluster, options.EffectiveNodeName, token.ToString());
            try
            {
                var joined = await JoinOnceAsync(token, stoppingToken);
                credentials.Swap(joined);
                scheduler.Addresses.Succeeded();
                LogJoined(log, joined.Cluster ?? options.Cluster, joined.NodeName, joined.NotAfter, store.Directory);
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                LogTokenRefused(log, e.Status.Detail);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
            {
                LogNameTaken(log, options.EffectiveNodeName, e.Status.Detail);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition or StatusCode.PermissionDenied)
            {
                LogJoinRefused(log, e.StatusCode, e.Status.Detail);
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or CredentialStoreException or JoinResponseException
                                           || e is OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                // A standby refuses joins with UNAVAILABLE and names the leader, which the next attempt goes to.
                leader = SchedulerConnection.LeaderNamedBy(e);
                LogJoinFailed(log, address, e.Message);
            }

            // To the named leader or the next scheduler at once; after a round in which all failed, the backoff first.
            if (scheduler.Addresses.Failed(leader).RoundFailed)
            {
                await Task.Delay(backoff.Next(), time, stoppingToken);
            }
        }
    }

    /// <summary>One attempt: the CA (fetched and checked, or the operator's), then one Join call; saves and answers the node's new credentials.</summary>
    /// <exception cref="JoinResponseException">The scheduler's CA is not the token's.</exception>
    public async Task<NodeCredentials> JoinOnceAsync(JoinToken token, CancellationToken cancellationToken)
    {
        var ca = security.TrustedCa ?? await FetchCaAsync(token, cancellationToken);
        var description = security.TrustedCa is null
            ? $"the cluster CA of the join token (SHA-256 {Convert.ToHexStringLower(token.CaDigest)})"
            : $"the CA in Agent:CaCertificate ({ca.Subject})";
        using var channel = SchedulerChannel.ForJoin(scheduler.Address, ServerCertificateValidator.Trusting(() => ca, description, log));
        var client = new AgentService.AgentServiceClient(channel);
        using var request = CertificateSigningRequest.Create(options.EffectiveNodeName);
        var response = await client.JoinAsync(
            new JoinRequest
            {
                JoinToken = token.Text,
                Cluster = options.Cluster,
                NodeName = options.EffectiveNodeName,
                Csr = ByteString.CopyFrom(request.Der),
            },
            deadline: DateTime.UtcNow.AddSeconds(30),
            cancellationToken: cancellationToken);

        // Trust from now on exactly the CA the token named (unless the operator gave one), not merely
        // whatever the scheduler says: the token is what the operator vouched for.
        if (security.TrustedCa is null && !IsCa(response.CaCertificatePem, token.CaDigest))
        {
            throw new JoinResponseException("the scheduler answered a CA certificate other than the one the join token names");
        }

        return store.Save(request.Key, response.CertificatePem, response.CaCertificatePem);
    }

    /// <summary>The scheduler's CA certificate, taken only when its digest is the join token's.</summary>
    private async Task<X509Certificate2> FetchCaAsync(JoinToken token, CancellationToken cancellationToken)
    {
        using var channel = SchedulerChannel.ForCaFetch(scheduler.Address);
        var answer = await new AgentService.AgentServiceClient(channel).GetCaCertificateAsync(
            new GetCaCertificateRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
        if (!IsCa(answer.CaCertificatePem, token.CaDigest))
        {
            throw new JoinResponseException($"the scheduler's CA certificate is not the one the join token names (SHA-256 {Convert.ToHexStringLower(token.CaDigest)}); the token was not sent");
        }

        return X509Certificate2.CreateFromPem(answer.CaCertificatePem);
    }

    private static bool IsCa(string pem, byte[] digest)
    {
        try
        {
            using var ca = X509Certificate2.CreateFromPem(pem);
            return SHA256.HashData(ca.RawData).AsSpan().SequenceEqual(digest);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    [LoggerMessage(40, LogLevel.Information, "Joining the scheduler at {Address} as {Cluster}/{Node} with join token {Token}")]
    private static partial void LogJoining(ILogger logger, string address, string cluster, string node, string token);

    [LoggerMessage(41, LogLevel.Information, "Joined cluster {Cluster} as node {Node}; certificate valid until {NotAfter:u}, kept in {Directory}")]
    private static partial void LogJoined(ILogger logger, string cluster, string node, DateTimeOffset notAfter, string directory);

    [LoggerMessage(42, LogLevel.Error, "The scheduler refused the join token (wrong, or rotated since it was given out): {Problem}; retrying. Set Agent:JoinToken to the cluster's current token")]
    private static partial void LogTokenRefused(ILogger logger, string problem);

    [LoggerMessage(43, LogLevel.Error, "The scheduler refused to join node {Node}: the name is taken ({Problem}); retrying. Choose another Agent:NodeName, or deregister the other node")]
    private static partial void LogNameTaken(ILogger logger, string node, string problem);

    [LoggerMessage(44, LogLevel.Error, "The scheduler refused the join ({Code}): {Problem}; retrying")]
    private static partial void LogJoinRefused(ILogger logger, StatusCode code, string problem);

    [LoggerMessage(45, LogLevel.Warning, "Could not join the scheduler at {Address}: {Problem}; retrying")]
    private static partial void LogJoinFailed(ILogger logger, string address, string problem);
}
