using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// The scheduler's security material, made or loaded once per start: the cluster CA and the server
/// certificate for the names the scheduler is reached by.
/// </summary>
internal sealed class ClusterSecurity : IDisposable
{
    private readonly Lazy<X509Certificate2> _server;
    private readonly Lazy<SslServerAuthenticationOptions> _authentication;

    /// <param name="directoryLock">Held: the CA and server files are made in the data directory, which
    /// only its lock holder may touch.</param>
    public ClusterSecurity(SchedulerOptions options, DataDirectoryLock directoryLock, TimeProvider time)
    {
        _ = directoryLock;
        Options = options;
        Directory = options.DataDirectory;

        Ca = ClusterCa.LoadOrCreate(Directory, options.CaCertificate, options.CaKey, time.GetUtcNow());
        _server = new Lazy<X509Certificate2>(() => Ca.IssueServerCertificate(Directory, ServerNames(options), time.GetUtcNow()));
        _authentication = new Lazy<SslServerAuthenticationOptions>(() => new SslServerAuthenticationOptions
        {
            // The CA goes with the server certificate, so that a joining agent can pin it by its digest.
            ServerCertificateContext = SslStreamCertificateContext.Create(ServerCertificate, [Ca.Certificate], offline: true),
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            // Ask for a client certificate and take any, or none: API clients use tokens, and agents'
            // certificates are checked per call (AgentAuthenticator), so a refusal is a clear gRPC status.
            ClientCertificateRequired = true,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        });
    }

    /// <summary>The TLS settings of the public port.</summary>
    public SslServerAuthenticationOptions ServerAuthentication => _authentication.Value;

    public SchedulerOptions Options { get; }
    public string Directory { get; }
    public ClusterCa Ca { get; }
    public X509Certificate2 ServerCertificate => _server.Value;
    public string CaCertificatePath => string.IsNullOrEmpty(Options.CaCertificate) ? Path.Combine(Directory, ClusterCa.CertificateFile) : Options.CaCertificate;

    public void Dispose()
    {
        if (_server.IsValueCreated)
        {
            _server.Value.Dispose();
        }

        Ca.Dispose();
    }

    /// <summary>localhost and the loopback addresses, the host's name, the listen and advertise addresses, and the operator's.</summary>
    private static IEnumerable<string> ServerNames(SchedulerOptions options)
    {
        yield return "localhost";
        yield return "127.0.0.1";
        yield return "::1";
        yield return Dns.GetHostName();
        var endpoint = ListenAddress.Parse(options.Listen);
        if (!endpoint.Address.Equals(IPAddress.Any) && !endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            yield return endpoint.Address.ToString();
        }

        // Standbys reach the leader by its advertise address, and check that its certificate names it.
        if (HA.AdvertisedAddress.HostOf(options.AdvertiseAddress) is { } advertised)
        {
            yield return advertised;
        }

        foreach (var name in options.TlsHostNames.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            yield return name;
        }
    }
}
