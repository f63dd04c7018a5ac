using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using dotnet_etcd;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>An etcd client and the gRPC channel under it, which this owns and disposes.</summary>
internal sealed class EtcdConnection(EtcdClient client, GrpcChannel channel) : IDisposable
{
    public EtcdClient Client { get; } = client;

    public void Dispose()
    {
        Client.Dispose();
        channel.Dispose();
    }
}

/// <summary>
/// Makes the etcd client from Scheduler:Etcd: one gRPC channel over every endpoint (round robin over
/// the members that answer), TLS with the given CA and client certificate where the endpoints are
/// https. Unlike dotnet-etcd's own channel it retries nothing: a Txn retried after its first attempt
/// landed would report a conflict for a commit that was written, so the store decides what is safe
/// to send again (<see cref="EtcdRpcFailure"/>).
/// </summary>
internal static class EtcdClientFactory
{
    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public static EtcdConnection Create(EtcdOptions options)
    {
        var endpoints = ParseEndpoints(options.Endpoints);
        var secure = endpoints[0].Scheme == Uri.UriSchemeHttps;
        var handler = new SocketsHttpHandler
        {
            // A member that died without closing its connections is noticed within seconds, not minutes.
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            EnableMultipleHttp2Connections = true,
        };
        if (secure)
        {
            handler.SslOptions = SslOptions(options);
        }
        else if (options.CaCertificate.Length > 0 || options.ClientCertificate.Length > 0 || options.ClientKey.Length > 0)
        {
            throw new ArgumentException("Scheduler:Etcd:CaCertificate, ClientCertificate and ClientKey are for https endpoints, and Scheduler:Etcd:Endpoints are http; use https://", nameof(options));
        }

        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => [.. endpoints.Select(e => new BalancerAddress(e.Host, e.Port))]));
        var channel = GrpcChannel.ForAddress("static:///etcd", new GrpcChannelOptions
        {
            Credentials = secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            HttpHandler = handler,
            DisposeHttpClient = true,
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } },

            // A load reads pages of records up to MaxRequestBytes each: no fixed 4 MB answer limit.
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            ThrowOperationCanceledOnCancellation = true,
        });
        return new EtcdConnection(new EtcdClient(channel.CreateCallInvoker()), channel);
    }

    /// <summary>Comma-separated http:// or https:// URLs with host and port, all of one scheme.</summary>
    internal static Uri[] ParseEndpoints(string endpoints)
    {
        var parts = endpoints.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new ArgumentException("Scheduler:Etcd:Endpoints is empty; give the etcd members' client URLs, comma-separated (http://HOST:2379,...)");
        }

        var uris = parts.Select(part =>
            Uri.TryCreate(part, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                && uri.Host.Length > 0 && uri.AbsolutePath == "/" && part.Contains(':', StringComparison.Ordinal) && HasPort(part)
                ? uri
                : throw new ArgumentException($"Scheduler:Etcd:Endpoints: \"{part}\" is not an etcd client URL (http://HOST:PORT or https://HOST:PORT)")).ToArray();
        if (uris.Select(u => u.Scheme).Distinct().Count() > 1)
        {
            throw new ArgumentException("Scheduler:Etcd:Endpoints mixes http:// and https://; use one scheme for every member");
        }

        return uris;
    }

    private static bool HasPort(string url) => url.AsSpan(url.IndexOf("://", StringComparison.Ordinal) + 3).Contains(':');

    private static SslClientAuthenticationOptions SslOptions(EtcdOptions options)
    {
        var ssl = new SslClientAuthenticationOptions();
        if (options.CaCertificate.Length > 0)
        {
            var ca = Load("Scheduler:Etcd:CaCertificate", options.CaCertificate, path => X509CertificateLoader.LoadCertificateFromFile(path));
            ssl.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { ca },
                RevocationMode = X509RevocationMode.NoCheck,
            };
        }

        if ((options.ClientCertificate.Length > 0) != (options.ClientKey.Length > 0))
        {
            throw new ArgumentException("Scheduler:Etcd:ClientCertificate and Scheduler:Etcd:ClientKey go together: set both or neither");
        }

        if (options.ClientCertificate.Length > 0)
        {
            var pem = Load("Scheduler:Etcd:ClientCertificate and ClientKey", options.ClientCertificate, path => X509Certificate2.CreateFromPemFile(path, options.ClientKey));

            // SslStream wants a certificate whose key it can use as a client credential: a PKCS#12 round trip gives one on every platform.
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            ssl.ClientCertificates = [certificate];
        }

        return ssl;
    }

    private static X509Certificate2 Load(string setting, string path, Func<string, X509Certificate2> load)
    {
        try
        {
            return load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"{setting}: cannot read a PEM certificate from {path}: {e.Message}", e);
        }
    }
}
