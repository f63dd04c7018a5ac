using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace Orchestrator.Cli.Connection;

/// <summary>
/// The one channel a command uses. Retries are the channel's (a service config with a retry policy
/// on UNAVAILABLE: a scheduler restarting or a connection refused), so every call gets the same
/// backoff without loops of our own; all calls but exec, which is never run twice.
/// </summary>
internal static class ChannelFactory
{
    public static readonly ServiceConfig RetryingServiceConfig = new()
    {
        MethodConfigs =
        {
            // Never retried: a command may have run (and done what it does) before the call failed.
            // The scheduler commits the call with its headers once the session is open, but an
            // UNAVAILABLE before that can still follow a start on the node.
            new MethodConfig { Names = { new MethodName { Service = "orchestrator.v1.TaskService", Method = "ExecuteCommand" } } },
            new MethodConfig
            {
                Names = { MethodName.Default },
                RetryPolicy = new RetryPolicy
                {
                    MaxAttempts = 5,
                    InitialBackoff = TimeSpan.FromMilliseconds(200),
                    MaxBackoff = TimeSpan.FromSeconds(2),
                    BackoffMultiplier = 2,
                    RetryableStatusCodes = { StatusCode.Unavailable },
                },
            },
        },
    };

    public static GrpcChannel Create(ConnectionSettings settings, HttpMessageHandler? transport)
    {
        transport ??= SocketHandler(settings);
        if (settings.Addresses.Count > 1)
        {
            transport = new AddressFailover(settings.Addresses, transport);
        }

        return GrpcChannel.ForAddress(settings.Address, new GrpcChannelOptions
        {
            HttpHandler = new BearerTokenHandler(settings.Token) { InnerHandler = transport },
            ServiceConfig = RetryingServiceConfig,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            DisposeHttpClient = true,
        });
    }

    private static SocketsHttpHandler SocketHandler(ConnectionSettings settings)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (settings.CaCertPath is { } path)
        {
            var ca = ClusterCa.Load(path);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => ca.Issued(certificate);
        }

        return handler;
    }
}
