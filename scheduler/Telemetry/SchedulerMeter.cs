using System.Diagnostics;
using System.Diagnostics.Metrics;
using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Scheduler.Telemetry;

/// <summary>
/// The scheduler's meter and the instruments its hot paths record into. One per scheduler (not a
/// static), so that two schedulers in one test process are exported apart. Names carry their unit, as
/// Prometheus wants; the meter's name is every metric's prefix. A record here is a histogram or counter
/// update: no allocation, no lock beyond the instrument's own. The gauges are in <see cref="SchedulerGauges"/>.
/// </summary>
internal sealed class SchedulerMeter : IDisposable
{
    public const string Name = "orchestrator";

    private readonly Histogram<double> _runTask;
    private readonly Histogram<double> _placement;
    private readonly Counter<long> _placements;
    private readonly Histogram<double> _storeFlush;
    private readonly Histogram<long> _storeGroup;

    public SchedulerMeter()
    {
        Meter = new Meter(Name);
        _runTask = Meter.CreateHistogram<double>("runtask_duration_seconds", "s", "Time to answer a RunTask or StartTask call: placement and durable commit included.");
        _placement = Meter.CreateHistogram<double>("placement_duration_seconds", "s", "Time to place one request's tasks (filters, scores, choice), its commit not included.");
        _placements = Meter.CreateCounter<long>("placements_total", "{task}", "Tasks placed (result=placed) or not (result=failed, reason=the failure's reason code), by RunTask, StartTask and services.");
        _storeFlush = Meter.CreateHistogram<double>("store_commit_duration_seconds", "s", "Time of one group commit's flush to disk, which makes every commit of the group durable.");
        _storeGroup = Meter.CreateHistogram<long>("store_commit_group_size", "{commit}", "Commits made durable together by one flush.");
    }

    public Meter Meter { get; }

    public static long Now() => Stopwatch.GetTimestamp();

    public void RunTaskAnswered(long started) => _runTask.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);

    public void Placed(long started, PlacementResult result)
    {
        _placement.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (result.Placed.Count > 0)
        {
            _placements.Add(result.Placed.Count, new KeyValuePair<string, object?>("result", "placed"));
        }

        // Reasons are the placement's codes (RESOURCE:MEMORY, NO_ACTIVE_NODES...): a small set, fit for a label.
        for (var i = 0; i < result.Failed.Count; i++)
        {
            _placements.Add(1, new KeyValuePair<string, object?>("result", "failed"), new KeyValuePair<string, object?>("reason", result.Failed[i].Reason));
        }
    }

    public void StoreFlushed(TimeSpan duration, int groupSize)
    {
        _storeFlush.Record(duration.TotalSeconds);
        _storeGroup.Record(groupSize);
    }

    public void Dispose() => Meter.Dispose();
}
