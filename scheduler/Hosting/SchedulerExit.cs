namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// The exit code the scheduler ends with, when a part stops it for a reason systemd or Compose should
/// act on (Restart=on-failure starts it again): 4, the store was lost; 5, it lost its leadership. Program
/// returns it after the host has stopped. The first reason given wins.
/// </summary>
internal sealed class SchedulerExit(IHostApplicationLifetime lifetime)
{
    public const int StoreLost = 4;
    public const int LeadershipLost = 5;

    private int _code;

    public int Code => Volatile.Read(ref _code);

    public void StopWith(int code)
    {
        Interlocked.CompareExchange(ref _code, code, 0);
        lifetime.StopApplication();
    }
}
