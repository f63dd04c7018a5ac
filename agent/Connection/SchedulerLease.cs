using System.Globalization;

namespace Orchestrator.Agent.Connection;

/// <summary>
/// When the scheduler last heard this agent, as far as the agent can prove it: the send time of the
/// newest heartbeat (or registration) the scheduler acknowledged, on the agent's monotonic clock. The
/// scheduler took that message in after it was sent, so its own last-heard time is later still: a
/// task stopped once <c>stopAfter</c> has passed here is gone before the scheduler's grace of
/// <c>stopAfter</c> plus the stop timeout and a margin ends. This is the lease pattern; counting from
/// the ack's arrival instead would be later than the scheduler's clock, and unsafe.
/// </summary>
/// <remarks>
/// The time is kept in the agent's state directory with the host's boot id, so an agent restarted
/// during a partition goes on counting from the last acknowledgement instead of starting afresh. The
/// monotonic clock does not survive a reboot: a lease from another boot (or none at all) counts as
/// long expired, and adopted tasks with a stopAfter are stopped unless the scheduler answers first.
/// </remarks>
internal sealed class SchedulerLease
{
    private readonly TimeProvider _time;
    private readonly string? _file;
    private readonly string _bootId;
    private readonly Dictionary<ulong, long> _pending = [];
    private readonly Lock _gate = new();
    private long? _renewedAt;

    public SchedulerLease(TimeProvider time, string? stateDirectory, string bootId)
    {
        _time = time;
        _bootId = bootId;
        _file = stateDirectory is null ? null : Path.Combine(stateDirectory, "scheduler-lease");
        _renewedAt = Load();
    }

    /// <summary>How long since the scheduler is known to have heard this agent; null when never (this boot).</summary>
    public TimeSpan? SinceRenewed
    {
        get
        {
            lock (_gate)
            {
                return _renewedAt is { } at ? _time.GetElapsedTime(at) : null;
            }
        }
    }

    /// <summary>The host's boot id, or "" where the kernel does not say (the lease is then never carried over).</summary>
    public static string ReadBootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>A new stream: acknowledgements of an older one can no longer come.</summary>
    public void BeginSession()
    {
        lock (_gate)
        {
            _pending.Clear();
        }
    }

    /// <summary>Notes the send time of heartbeat <paramref name="sequence"/>, just before it is sent.</summary>
    public void Sending(ulong sequence)
    {
        lock (_gate)
        {
            _pending[sequence] = _time.GetTimestamp();
        }
    }

    /// <summary>The scheduler acknowledged heartbeat <paramref name="sequence"/>: the lease runs from its send time.</summary>
    public void Acknowledged(ulong sequence)
    {
        long sentAt;
        lock (_gate)
        {
            if (!_pending.Remove(sequence, out sentAt))
            {
                return;
            }

            // Older heartbeats are answered in order before this one, or never.
            foreach (var older in _pending.Keys.Where(s => s < sequence).ToList())
            {
                _pending.Remove(older);
            }
        }

        Renew(sentAt);
    }

    /// <summary>The scheduler accepted a registration sent at <paramref name="sentAt"/> (a timestamp of the agent's clock).</summary>
    public void Renew(long sentAt)
    {
        lock (_gate)
        {
            if (_renewedAt is { } current && current >= sentAt)
            {
                return;
            }

            _renewedAt = sentAt;
        }

        Save(sentAt);
    }

    private long? Load()
    {
        if (_file is null || _bootId.Length == 0 || !File.Exists(_file))
        {
            return null;
        }

        try
        {
            var parts = File.ReadAllText(_file).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return parts.Length == 2 && parts[0] == _bootId && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var at) ? at : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void Save(long at)
    {
        if (_file is null || _bootId.Length == 0)
        {
            return;
        }

        try
        {
            // Written aside and renamed, so a crash mid-write leaves the previous lease, never half a file.
            Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
            var temporary = _file + ".tmp";
            File.WriteAllText(temporary, $"{_bootId}\n{at.ToString(CultureInfo.InvariantCulture)}\n");
            File.Move(temporary, _file, overwrite: true);
        }
        catch (IOException)
        {
            // Not fatal: after a restart the lease then counts as expired, which only errs on the safe side.
        }
    }
}
