using System.Net.Sockets;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// containerd's gRPC services over its unix socket, every call in our namespace (the
/// containerd-namespace header, which containerd requires on each call and creates on first use).
/// One HTTP/2 connection is shared by all the clients.
/// </summary>
internal sealed class ContainerdClients : IDisposable
{
    public const string NamespaceHeader = "containerd-namespace";

    private readonly GrpcChannel _channel;

    public ContainerdClients(string socket, string @namespace)
    {
        Socket = socket;
        Namespace = @namespace;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellation) =>
            {
                var connection = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await connection.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellation);
                    return new NetworkStream(connection, ownsSocket: true);
                }
                catch
                {
                    connection.Dispose();
                    throw;
                }
            },
            // Event subscriptions stay open for as long as the agent runs.
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
        };

        // The host name is never resolved: every connection goes to the socket.
        _channel = GrpcChannel.ForAddress("http://containerd", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        // A copy, never the caller's headers: a Metadata reused across calls (a lease's) would gain the
        // header once per call, and containerd refuses "orchestrator, orchestrator" as a namespace.
        var invoker = _channel.Intercept(metadata =>
        {
            var headers = new Metadata();
            foreach (var entry in metadata)
            {
                if (!string.Equals(entry.Key, NamespaceHeader, StringComparison.OrdinalIgnoreCase))
                {
                    headers.Add(entry);
                }
            }

            headers.Add(NamespaceHeader, @namespace);
            return headers;
        });
        Containers = new global::Containerd.Services.Containers.V1.Containers.ContainersClient(invoker);
        Content = new global::Containerd.Services.Content.V1.Content.ContentClient(invoker);
        Diff = new global::Containerd.Services.Diff.V1.Diff.DiffClient(invoker);
        Events = new global::Containerd.Services.Events.V1.Events.EventsClient(invoker);
        Images = new global::Containerd.Services.Images.V1.Images.ImagesClient(invoker);
        Leases = new global::Containerd.Services.Leases.V1.Leases.LeasesClient(invoker);
        Namespaces = new global::Containerd.Services.Namespaces.V1.Namespaces.NamespacesClient(invoker);
        Snapshots = new global::Containerd.Services.Snapshots.V1.Snapshots.SnapshotsClient(invoker);
        Tasks = new global::Containerd.Services.Tasks.V1.Tasks.TasksClient(invoker);
        Version = new global::Containerd.Services.Version.V1.Version.VersionClient(invoker);
    }

    public string Socket { get; }

    public string Namespace { get; }

    public global::Containerd.Services.Containers.V1.Containers.ContainersClient Containers { get; }
    public global::Containerd.Services.Content.V1.Content.ContentClient Content { get; }
    public global::Containerd.Services.Diff.V1.Diff.DiffClient Diff { get; }
    public global::Containerd.Services.Events.V1.Events.EventsClient Events { get; }
    public global::Containerd.Services.Images.V1.Images.ImagesClient Images { get; }
    public global::Containerd.Services.Leases.V1.Leases.LeasesClient Leases { get; }
    public global::Containerd.Services.Namespaces.V1.Namespaces.NamespacesClient Namespaces { get; }
    public global::Containerd.Services.Snapshots.V1.Snapshots.SnapshotsClient Snapshots { get; }
    public global::Containerd.Services.Tasks.V1.Tasks.TasksClient Tasks { get; }
    public global::Containerd.Services.Version.V1.Version.VersionClient Version { get; }

    /// <summary>containerd is not there (no socket, refused, gone mid-call), as opposed to refusing a request.</summary>
    public static bool IsUnreachable(RpcException e) => e.StatusCode is StatusCode.Unavailable or StatusCode.Internal && e.InnerException is HttpRequestException or IOException or SocketException
        || e.StatusCode == StatusCode.Unavailable;

    public void Dispose() => _channel.Dispose();
}
