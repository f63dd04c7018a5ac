namespace Orchestrator.Agent.Connection;

/// <summary>
/// The schedulers an agent may reach (Agent:SchedulerAddress, comma-separated) and the one it uses now,
/// which Connect, Join, renewals and task sessions share (a session must reach the scheduler that holds
/// its Connect stream). After a failure the agent goes where the refusing standby said the leader is, at
/// most once per round, or else to the next address; a round in which every address failed once waits
/// the capped backoff before the next. A leader named that is not in the list is followed all the same
/// (and kept): the standby that named it proved over TLS that it is the cluster's, and an agent that was
/// given one address of several schedulers (or a DNS name for all) still finds the leader.
/// </summary>
internal sealed class SchedulerAddresses
{
    public const string Setting = "Agent:SchedulerAddress";

    private readonly Lock _lock = new();
    private readonly List<Uri> _addresses;
    private int _current;
    private int _failures;
    private bool _followedLeader;

    public SchedulerAddresses(IEnumerable<Uri> addresses)
    {
        _addresses = [.. addresses];
        if (_addresses.Count == 0)
        {
            throw new ArgumentException("no scheduler address", nameof(addresses));
        }
    }

    /// <summary>Where the next call goes, "https://host:port" (no trailing slash, as the setting is written).</summary>
    public string Current
    {
        get
        {
            lock (_lock)
            {
                return Text(_addresses[_current]);
            }
        }
    }

    /// <summary>Every address known now: the configured ones, then the leaders followed that were not among them.</summary>
    public IReadOnlyList<string> All
    {
        get
        {
            lock (_lock)
            {
                return [.. _addresses.Select(Text)];
            }
        }
    }

    /// <summary>
    /// Parses the setting: one address or several separated by commas, each https:// (or, for a scheduler
    /// started with Scheduler:Insecure, http://), all with the same scheme.
    /// </summary>
    /// <exception cref="FormatException">Names the setting and the bad address.</exception>
    public static IReadOnlyList<Uri> Parse(string setting)
    {
        var addresses = new List<Uri>();
        foreach (var text in setting.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https") || address.AbsolutePath.Length > 1)
            {
                throw new FormatException($"{Setting} must be an https:// (or, for a scheduler started with Scheduler:Insecure, http://) address, or several separated by commas, not \"{text}\"");
            }

            addresses.Add(address);
        }

        if (addresses.Count == 0)
        {
            throw new FormatException($"{Setting} names no scheduler: give an https:// address (or several separated by commas), not \"{setting}\"");
        }

        if (addresses.Select(a => a.Scheme).Distinct().Count() > 1)
        {
            throw new FormatException($"{Setting} mixes http:// and https:// addresses (\"{setting}\"): every scheduler of a cluster is reached the same way");
        }

        return addresses;
    }

    /// <summary>The call to <see cref="Current"/> failed; <paramref name="leader"/> is the host:port a standby named, if it did.</summary>
    public SchedulerMove Failed(string? leader)
    {
        lock (_lock)
        {
            var failed = Text(_addresses[_current]);
            _failures++;
            if (!_followedLeader && LeaderIndex(leader) is { } index && index != _current)
            {
                _followedLeader = true;
                _current = index;
                return new SchedulerMove(failed, Text(_addresses[index]), FollowsLeader: true, RoundFailed: false);
            }

            _current = (_current + 1) % _addresses.Count;
            var roundFailed = _failures >= _addresses.Count;
            if (roundFailed)
            {
                _failures = 0;
                _followedLeader = false;
            }

            return new SchedulerMove(failed, Text(_addresses[_current]), FollowsLeader: false, RoundFailed: roundFailed);
        }
    }

    /// <summary>The scheduler at <see cref="Current"/> took the agent: a later failure starts a new round from it.</summary>
    public void Succeeded()
    {
        lock (_lock)
        {
            _failures = 0;
            _followedLeader = false;
        }
    }

    /// <summary>The leader's place in the list, added with the scheme of the others when it is not there; null when none (or not a host:port) was named.</summary>
    private int? LeaderIndex(string? leader)
    {
        if (string.IsNullOrWhiteSpace(leader)
            || !Uri.TryCreate($"{_addresses[0].Scheme}://{leader.Trim()}", UriKind.Absolute, out var address)
            || address.AbsolutePath.Length > 1 || address.IsDefaultPort && !leader.Contains(':', StringComparison.Ordinal))
        {
            return null;
        }

        var index = _addresses.FindIndex(a => string.Equals(a.Authority, address.Authority, StringComparison.OrdinalIgnoreCase));
        if (index >= 0)
        {
            return index;
        }

        _addresses.Add(address);
        return _addresses.Count - 1;
    }

    private static string Text(Uri address) => address.GetLeftPart(UriPartial.Authority);
}

/// <summary>Where the agent goes after a failure at <paramref name="Failed"/>.</summary>
/// <param name="FollowsLeader">To the leader a refusing standby named: at once.</param>
/// <param name="RoundFailed">Every address failed once since the last success or round: wait the backoff first.</param>
internal sealed record SchedulerMove(string Failed, string Next, bool FollowsLeader, bool RoundFailed);
