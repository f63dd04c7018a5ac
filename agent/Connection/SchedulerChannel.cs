using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Security;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Connection;

/// <summary>
/// The gRPC channel to the scheduler, made once: cleartext h2c for an http:// address; otherwise TLS
/// that trusts only the cluster CA and presents the node's current certificate. Joining uses a channel
/// of its own (<see cref="ForJoin"/>), which presents no certificate and trusts the join token's CA.
/// </summary>
internal sealed class SchedulerChannel : IDisposable
{
    private readonly GrpcChannel _channel;

    public SchedulerChannel(AgentOptions options, AgentSecurity security, NodeCredentialsHolder credentials, ILogger<SchedulerChannel> log)
    {
        Address = options.SchedulerAddress;
        _channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions { HttpHandler = CreateHandler(security, credentials, log), DisposeHttpClient = true });
        Client = new AgentService.AgentServiceClient(_channel);
    }

    /// <summary>
    /// A connection pool as Connect's: cleartext h2c for an http:// address, else TLS that trusts only
    /// the cluster CA and presents the node's current certificate. Task sessions build theirs with it,
    /// so that they never share a connection (and its flow-control window) with Connect.
    /// </summary>
    public static HttpMessageHandler CreateHandler(AgentSecurity security, NodeCredentialsHolder credentials, ILogger log)
    {
        if (!security.Enabled)
        {
            return Pool();
        }

        var validator = security.TrustedCa is { } trusted
            ? ServerCertificateValidator.Trusting(() => trusted, $"the CA in Agent:CaCertificate ({trusted.Subject})", log)
            : ServerCertificateValidator.Trusting(() => credentials.Current?.Ca, "the cluster CA in ca.crt", log);
        return new CertificateRotatingHandler(credentials, () =>
        {
            var pool = Pool();
            pool.SslOptions.RemoteCertificateValidationCallback = validator.Validate;
            pool.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => credentials.Current?.Certificate!;
            return pool;
        });
    }

    public string Address { get; }

    public AgentService.AgentServiceClient Client { get; }

    /// <summary>
    /// A channel for GetCaCertificate only, before joining: any server certificate is taken, because
    /// nothing is sent on it but that request, and what it answers is checked against the join token's
    /// digest before it is trusted.
    /// </summary>
    public static GrpcChannel ForCaFetch(string address)
    {
        var pool = Pool();
        pool.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = pool, DisposeHttpClient = true });
    }

    /// <summary>A channel for Join only: no client certificate, and the scheduler must prove it holds the expected CA.</summary>
    public static GrpcChannel ForJoin(string address, ServerCertificateValidator validator)
    {
        var pool = Pool();
        pool.SslOptions.RemoteCertificateValidationCallback = validator.Validate;
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = pool, DisposeHttpClient = true });
    }

    public void Dispose() => _channel.Dispose();

    private static SocketsHttpHandler Pool() => new()
    {
        // Notice a dead connection even when the stream is quiet.
        KeepAlivePingDelay = TimeSpan.FromSeconds(10),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };
}
