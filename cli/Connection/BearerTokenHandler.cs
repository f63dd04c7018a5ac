namespace Orchestrator.Cli.Connection;

/// <summary>Adds "authorization: Bearer &lt;token&gt;" to every call, when there is a token.</summary>
internal sealed class BearerTokenHandler(string? token) : DelegatingHandler
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
