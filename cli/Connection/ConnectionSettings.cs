namespace Orchestrator.Cli.Connection;

/// <summary>Where the scheduler is and how to prove who we are: flags first, then ORCHESTRATOR_* variables.</summary>
internal sealed record ConnectionSettings(Uri Address, string? CaCertPath, string? Token)
{
    public const string DefaultAddress = "https://127.0.0.1:7400";

    /// <summary>"https://host:port", "http://host:port" (cleartext h2c) or "host:port" (TLS).</summary>
    public static Uri ParseAddress(string text)
    {
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "https://" + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath.Length > 1)
        {
            throw new CliException($"--addr: \"{text}\" is not an address (https://HOST:PORT, http://HOST:PORT or HOST:PORT)");
        }

        return uri;
    }
}
