using System.Net;

namespace Orchestrator.Scheduler.Hosting;

/// <summary>Parses "host:port", "http://host:port" or "[::1]:port" into an endpoint Kestrel can bind.</summary>
internal static class ListenAddress
{
    /// <param name="setting">The setting the value came from, named in the error, with an example of a good value.</param>
    public static IPEndPoint Parse(string value, string setting = "Scheduler:Listen", string example = "127.0.0.1:7400")
    {
        var text = value.Trim();
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            text = text["http://".Length..].TrimEnd('/');
        }

        if (text.StartsWith("*:", StringComparison.Ordinal))
        {
            text = "0.0.0.0" + text[1..];
        }

        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text["localhost".Length..];
        }

        return IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port > 0
            ? endpoint
            : throw new FormatException($"{setting} must be an address and port such as {example}, not \"{value}\"");
    }
}
