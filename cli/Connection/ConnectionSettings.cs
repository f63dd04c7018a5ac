namespace Orchestrator.Cli.Connection;

/// <summary>
/// Where the schedulers are (one or several, tried in order: see <see cref="AddressFailover"/>) and how to
/// prove who we are: flags first, then ORCHESTRATOR_* variables.
/// </summary>
internal sealed record ConnectionSettings(IReadOnlyList<Uri> Addresses, string? CaCertPath, string? Token)
{
    /// <summary>The first scheduler, the channel's own address.</summary>
    public Uri Address => Addresses[0];

    /// <summary>One address, or several separated by commas ("sched-1:7400,sched-2:7400"), each as <see cref="ParseAddress"/> takes it.</summary>
    public static IReadOnlyList<Uri> ParseAddresses(string text)
    {
        var addresses = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseAddress).ToList();
        return addresses.Count > 0
            ? addresses
            : throw new CliException($"--addr: \"{text}\" names no scheduler (https://HOST:PORT, http://HOST:PORT or HOST:PORT, several separated by commas)");
    }

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
