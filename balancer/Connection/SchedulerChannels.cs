using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Orchestrator.Balancer.Hosting;

namespace Orchestrator.Balancer.Connection;

/// <summary>
/// A gRPC channel per scheduler address, as the CLI makes its own: TLS that trusts only the cluster CA
/// (Balancer:CaCertificate; without it the system's roots), cleartext h2c for an http:// address, and the
/// API token as "authorization: Bearer" on every call.
/// </summary>
internal sealed class SchedulerChannels(X509Certificate2? ca, string? token) : IDisposable
{
    private readonly ConcurrentDictionary<Uri, GrpcChannel> _channels = new();

    public static X509Certificate2? LoadCa(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return null;
        }

        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new FormatException($"{BalancerOptions.Section}:CaCertificate {path}: {e.Message}");
        }
    }

    public GrpcChannel For(Uri address) => _channels.GetOrAdd(address, a => GrpcChannel.ForAddress(a, new GrpcChannelOptions
    {
        HttpHandler = new BearerTokenHandler(token) { InnerHandler = Transport() },
        DisposeHttpClient = true,
    }));

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private SocketsHttpHandler Transport()
    {
        var handler = new SocketsHttpHandler
        {
            // Notice a dead connection even when the stream is quiet.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        if (ca is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => Issued(certificate);
        }

        return handler;
    }

    private bool Issued(X509Certificate? certificate)
    {
        if (certificate is null || ca is null)
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

    /// <summary>Adds "authorization: Bearer &lt;token&gt;" to every call, when there is a token.</summary>
    private sealed class BearerTokenHandler(string? token) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (token is { Length: > 0 })
            {
                request.Headers.TryAddWithoutValidation("authorization", $"Bearer {token}");
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
