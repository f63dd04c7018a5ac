namespace Orchestrator.Benchmarks;

/// <summary>
/// The CPU time (user + system) another process has used so far, read from /proc/PID/stat: the
/// benchmark's way to say where the two cores went, the scheduler's share against its own callers'.
/// </summary>
internal sealed class CpuClock(int processId)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on

    public TimeSpan Read()
    {
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
        var stat = File.ReadAllText($"/proc/{processId}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime: fields 14 and 15
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}
