using Grpc.Core;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>
/// A containerd lease: what is made by calls carrying its id in the "containerd-lease" header
/// (containerd's leases.WithLease) is kept from the garbage collector until the lease is deleted.
/// </summary>
internal sealed record ContainerdLease(string Id)
{
    public const string Header = "containerd-lease";

    /// <summary>Fresh headers per call: ContainerdClients' interceptor adds the namespace to the metadata it is given.</summary>
    public Metadata Headers() => new() { { Header, Id } };
}
