using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Orchestrator.Tests.Shared;

/// <summary>
/// Client channels to a scheduler as its users reach it: TLS checked against the cluster CA in its data
/// directory, and the bootstrap admin token from the same directory on every call. Both files are read
/// when first needed, since a scheduler that is still starting may not have written them yet.
/// </summary>
internal static class SchedulerChannel
{
    public const string AdminTokenFile = "admin.token";
    public const string CaFile = "ca.crt";

    /// <summary>A channel to a scheduler daemon on 127.0.0.1; cleartext (with the token) when <paramref name="tls"/> is false.</summary>
    public static GrpcChannel ForDaemon(int port, string dataDirectory, bool tls = true, GrpcChannelOptions? options = null, string? token = null)
    {
        options ??= new GrpcChannelOptions();
        var transport = new SocketsHttpHandler
        {
            // Many concurrent calls (benchmarks, watches) do not queue behind one connection's stream limit.
            EnableMultipleHttp2Connections = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => IssuedByCa(certificate, Path.Combine(dataDirectory, CaFile)),
            },
        };
        options.HttpHandler = new BearerTokenHandler(() => token ?? AdminToken(dataDirectory)) { InnerHandler = transport };
        return GrpcChannel.ForAddress($"{(tls ? "https" : "http")}://127.0.0.1:{port}", options);
    }

    /// <summary>The bootstrap admin token a scheduler wrote into its data directory; null until it has.</summary>
    public static string? AdminToken(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, AdminTokenFile);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>Whether the server's certificate chains to the CA in that file (and nothing else is trusted).</summary>
    public static bool IssuedByCa(X509Certificate? certificate, string caPath)
    {
        if (certificate is null || !File.Exists(caPath))
        {
            return false;
        }

        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caPath));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}

/// <summary>Adds "authorization: Bearer &lt;token&gt;" to every request that has none of its own, when there is a token.</summary>
internal sealed class BearerTokenHandler(Func<string?> token) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Headers.Contains("authorization") && token() is { Length: > 0 } value)
        {
            request.Headers.TryAddWithoutValidation("authorization", $"Bearer {value}");
        }

        return base.SendAsync(request, cancellationToken);
    }
}
