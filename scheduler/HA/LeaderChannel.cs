using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// The channels a standby forwards calls on, one per leader address, made when first needed and kept: a
/// cluster has a few schedulers, so the set stays small, and a leader that comes back is reached on the
/// connection already open. TLS trusts only the cluster CA (every scheduler shares it) and checks the
/// leader's name, which its certificate covers because ClusterSecurity adds the advertise address's host;
/// with Scheduler:Insecure the leader is reached over h2c as this scheduler is.
/// </summary>
internal sealed class LeaderChannel : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<GrpcChannel>> _channels = new(StringComparer.OrdinalIgnoreCase);
    private readonly Func<string, GrpcChannel> _open;

    /// <param name="open">Makes the channel to one "host:port" (the tests reach an in-process leader this way).</param>
    public LeaderChannel(Func<string, GrpcChannel> open) => _open = open;

    /// <summary>The scheduler's own: h2c when insecure, else TLS that trusts the cluster CA alone.</summary>
    public static LeaderChannel ForCluster(SchedulerOptions options, ClusterSecurity security) =>
        new(address => Open(address, options.Insecure, security));

    /// <summary>The invoker for calls to the leader at "host:port".</summary>
    public CallInvoker For(string address) =>
        _channels.GetOrAdd(address, a => new Lazy<GrpcChannel>(() => _open(a))).Value.CreateCallInvoker();

    public void Dispose()
    {
        foreach (var channel in _channels.Values.Where(c => c.IsValueCreated))
        {
            channel.Value.Dispose();
        }
    }

    private static GrpcChannel Open(string address, bool insecure, ClusterSecurity security)
    {
        var transport = new SocketsHttpHandler
        {
            // Forwarded watches and log streams are long: they must not queue behind one connection's stream limit.
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        if (!insecure)
        {
            var ca = security.Ca.Certificate;
            transport.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => IsTrusted(certificate, errors, ca),
            };
        }

        return GrpcChannel.ForAddress($"{(insecure ? "http" : "https")}://{address}", new GrpcChannelOptions
        {
            HttpHandler = transport,
            DisposeHttpClient = true,
            // The leader's answers pass through as they are: no limit of this hop's own below the leader's.
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
    }

    /// <summary>The leader's certificate names the host it was reached by and chains to the cluster CA, and nothing else is trusted.</summary>
    public static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2 ca)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
