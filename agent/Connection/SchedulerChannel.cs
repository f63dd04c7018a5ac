using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Orchestrator.Agent.Security;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Connection;

/// <summary>
/// The gRPC channels to the schedulers, one per address, each made when first used: cleartext h2c for an
/// http:// address; otherwise TLS that trusts only the cluster CA and presents the node's current
/// certificate. <see cref="Client"/> sends every call to the scheduler in use now (<see cref="Addresses"/>),
/// so that Connect, renewals and sessions follow it when the agent moves on to another. Joining uses a
/// channel of its own (<see cref="ForJoin"/>), which presents no certificate and trusts the join token's CA.
/// </summary>
internal sealed class SchedulerChannel : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<GrpcChannel>> _channels = new(StringComparer.OrdinalIgnoreCase);
    private readonly AgentSecurity _security;
    private readonly NodeCredentialsHolder _credentials;
    private readonly ILogger _log;

    public SchedulerChannel(AgentOptions options, AgentSecurity security, NodeCredentialsHolder credentials, ILogger<SchedulerChannel> log)
    {
        _security = security;
        _credentials = credentials;
        _log = log;
        Addresses = new SchedulerAddresses(SchedulerAddresses.Parse(options.SchedulerAddress));
        Client = new AgentService.AgentServiceClient(new CurrentSchedulerInvoker(this));
    }

    /// <summary>The schedulers, and the one in use now.</summary>
    public SchedulerAddresses Addresses { get; }

    /// <summary>The scheduler in use now.</summary>
    public string Address => Addresses.Current;

    /// <summary>Calls to the scheduler in use when each call starts.</summary>
    public AgentService.AgentServiceClient Client { get; }

    /// <summary>The channel to one address, made on first use and kept.</summary>
    public GrpcChannel For(string address) => _channels.GetOrAdd(address, a => new Lazy<GrpcChannel>(() =>
        GrpcChannel.ForAddress(a, new GrpcChannelOptions { HttpHandler = CreateHandler(_security, _credentials, _log), DisposeHttpClient = true }))).Value;

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

    public void Dispose()
    {
        foreach (var channel in _channels.Values.Where(c => c.IsValueCreated))
        {
            channel.Value.Dispose();
        }
    }

    private static SocketsHttpHandler Pool() => new()
    {
        // Notice a dead connection even when the stream is quiet.
        KeepAlivePingDelay = TimeSpan.FromSeconds(10),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Each call on the channel of the scheduler in use when it starts.</summary>
    private sealed class CurrentSchedulerInvoker(SchedulerChannel channels) : CallInvoker
    {
        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            Current.BlockingUnaryCall(method, host, options, request);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            Current.AsyncUnaryCall(method, host, options, request);

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            Current.AsyncServerStreamingCall(method, host, options, request);

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            Current.AsyncClientStreamingCall(method, host, options);

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            Current.AsyncDuplexStreamingCall(method, host, options);

        private CallInvoker Current => channels.For(channels.Address).CreateCallInvoker();
    }
}
