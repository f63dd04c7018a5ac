namespace Orchestrator.Cli.Connection;

/// <summary>
/// Sends each request to the first of several schedulers that answers: a scheduler that cannot be
/// reached (connection refused, no such name, no connection in time) passes the request to the next in
/// the order given. Any answer, even an error status, is the answer: every scheduler forwards to the
/// leader, so there is nothing better to find further down the list. The scheduler that answered last
/// is tried first by the next call of the same command. Only requests that never reached a scheduler
/// are sent again, so nothing runs twice; the channel's retry policy stays as it was, around all this.
/// Not a DelegatingHandler on purpose: grpc-dotnet takes over the connections of a SocketsHttpHandler it
/// finds at the end of a chain of those (its subchannel, which dials the channel's one address itself),
/// and would so bypass the choice of address made here.
/// </summary>
internal sealed class AddressFailover(IReadOnlyList<Uri> addresses, HttpMessageHandler transport) : HttpMessageHandler
{
    private readonly HttpMessageInvoker _transport = new(transport);
    private int _answered;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.PathAndQuery;
        var first = Volatile.Read(ref _answered);
        var failures = new List<string>(addresses.Count);
        Exception? last = null;
        for (var i = 0; i < addresses.Count; i++)
        {
            var index = (first + i) % addresses.Count;
            request.RequestUri = new Uri(addresses[index], path);
            try
            {
                var response = await _transport.SendAsync(request, cancellationToken);
                Volatile.Write(ref _answered, index);
                return response;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsUnreached(e))
            {
                last = e;
                failures.Add($"{addresses[index].Authority}: {e.Message}");
            }
        }

        throw new HttpRequestException(HttpRequestError.ConnectionError, $"no scheduler answered ({string.Join("; ", failures)})", last);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _transport.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>The request never reached a scheduler: nothing can have run, so another may take it.</summary>
    public static bool IsUnreached(Exception e) => e switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => true,
        // SocketsHttpHandler's ConnectTimeout.
        OperationCanceledException { InnerException: TimeoutException } => true,
        _ => false,
    };
}
