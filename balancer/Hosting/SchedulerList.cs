namespace Orchestrator.Balancer.Hosting;

/// <summary>
/// The schedulers (Balancer:Schedulers, comma-separated) and the one in use: after a failure the balancer
/// goes where a refusing standby said the leader is, else to the next; a round in which every one failed
/// waits the backoff.
/// </summary>
internal sealed class SchedulerList
{
    private readonly List<Uri> _addresses;
    private int _current;
    private int _failures;

    public SchedulerList(IReadOnlyList<Uri> addresses) => _addresses = [.. addresses];

    public Uri Current => _addresses[_current];

    public static IReadOnlyList<Uri> Parse(string setting)
    {
        var addresses = new List<Uri>();
        foreach (var text in (setting ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "https://" + text;
            if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath.Length > 1)
            {
                throw new FormatException($"{BalancerOptions.Section}:Schedulers: \"{text}\" is not an address (https://HOST:PORT, or http:// for a scheduler started with Scheduler:Insecure)");
            }

            addresses.Add(uri);
        }

        return addresses.Count > 0 ? addresses : throw new FormatException($"{BalancerOptions.Section}:Schedulers names no scheduler (https://HOST:PORT, several separated by commas)");
    }

    /// <returns>True when every scheduler has failed once since the last success: time to wait.</returns>
    public bool Failed(string? leader)
    {
        if (leader is not null && Uri.TryCreate($"{Current.Scheme}://{leader}", UriKind.Absolute, out var named))
        {
            var index = _addresses.FindIndex(a => a.Authority.Equals(named.Authority, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                _addresses.Add(named);
                index = _addresses.Count - 1;
            }

            if (index != _current)
            {
                _current = index;
                return ++_failures % _addresses.Count == 0;
            }
        }

        _current = (_current + 1) % _addresses.Count;
        return ++_failures % _addresses.Count == 0;
    }

    public void Succeeded() => _failures = 0;
}
