namespace Orchestrator.Agent.Security;

/// <summary>
/// Sends each request through a connection pool made for the node's current certificate. HTTP/2 keeps
/// one connection for every call, and a connection keeps the certificate of its handshake: without a
/// new pool, calls after a renewal would still present the old certificate, which the scheduler no
/// longer accepts. The gRPC channel above stays the same.
/// </summary>
internal sealed class CertificateRotatingHandler(NodeCredentialsHolder holder, Func<SocketsHttpHandler> createPool) : HttpMessageHandler
{
    private readonly object _gate = new();
    private HttpMessageInvoker? _current;
    private HttpMessageInvoker? _previous;
    private int _generation = -1;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Current().SendAsync(request, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _previous?.Dispose();
                _current?.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private HttpMessageInvoker Current()
    {
        lock (_gate)
        {
            var generation = holder.Generation;
            if (_current is null || generation != _generation)
            {
                // The pool before the previous one is two certificates old: a stream still open on it
                // has outlived a whole renewal period, and is ended to reconnect with the current one.
                // The previous pool stays, so that the stream open at the renewal goes on.
                _previous?.Dispose();
                _previous = _current;
                _current = new HttpMessageInvoker(createPool(), disposeHandler: true);
                _generation = generation;
            }

            return _current;
        }
    }
}
