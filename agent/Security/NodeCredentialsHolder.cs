namespace Orchestrator.Agent.Security;

/// <summary>
/// The node's current credentials. TLS callbacks read it on every new connection, so a renewed
/// certificate is used from the next connection on without rebuilding the gRPC channel.
/// </summary>
internal sealed class NodeCredentialsHolder
{
    private readonly TaskCompletionSource _available = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile NodeCredentials? _current;
    private int _generation;

    public NodeCredentialsHolder(NodeCredentials? initial = null)
    {
        if (initial is not null)
        {
            Swap(initial);
        }
    }

    public NodeCredentials? Current => _current;

    /// <summary>Grows by one with every swap: connections made with an older generation present an older certificate.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Completes once the node has credentials (loaded at start or from its first join).</summary>
    public Task Available => _available.Task;

    public void Swap(NodeCredentials credentials)
    {
        _current = credentials;
        Interlocked.Increment(ref _generation);
        _available.TrySetResult();
    }
}
