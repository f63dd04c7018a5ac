using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>Every target group and its targets as derived at one state version.</summary>
internal sealed record TargetsSnapshot(
    long Version,
    DateTimeOffset Now,
    IReadOnlyDictionary<string, TargetGroupRecord> Groups,
    IReadOnlyDictionary<string, IReadOnlyList<DerivedTarget>> Targets);

/// <summary>
/// Where the load-balancing parts (balancer streams, DescribeTargetHealth, service endpoints) read the
/// targets, and hear that they may have changed: a subscriber of the change feed that tells its listeners
/// after each commit that touched services, their tasks, nodes or target groups. Listeners are called on
/// the committing thread under the state's lock: they only signal (a channel write), and read the targets
/// afresh on their own thread, so that a burst of commits costs one read.
/// </summary>
internal sealed class LoadBalancingFeed : IChangeSubscriber, IDisposable
{
    private readonly ClusterState _state;
    private readonly IDisposable _subscription;
    private readonly Lock _gate = new();
    private Action[] _listeners = [];

    public LoadBalancingFeed(ClusterState state)
    {
        _state = state;
        _subscription = state.Feed.Subscribe(this);
    }

    /// <summary>The targets now (read under the state's lock, derived outside it).</summary>
    public TargetsSnapshot Targets()
    {
        var inputs = _state.LoadBalancing(out var version);
        return new TargetsSnapshot(
            version,
            inputs.Now,
            inputs.TargetGroups.ToDictionary(g => g.Name, StringComparer.Ordinal),
            TargetsBuilder.Build(inputs));
    }

    /// <summary>Calls <paramref name="changed"/> after every commit that may change targets or endpoints, until disposed.</summary>
    public IDisposable Listen(Action changed)
    {
        lock (_gate)
        {
            _listeners = [.. _listeners, changed];
        }

        return new Listener(this, changed);
    }

    /// <summary>Whether the commit may change some target or endpoint.</summary>
    public static bool Concerns(AppliedChanges applied) =>
        applied.Tasks.Any(t => t.Current.Service.Length > 0)
        || applied.Changes.Changes.Any(c => c.Table == StoreTables.Services || c.Table == StoreTables.TargetGroups || c.Table == StoreTables.Nodes);

    public void OnApplied(AppliedChanges applied)
    {
        if (!Concerns(applied))
        {
            return;
        }

        foreach (var listener in Volatile.Read(ref _listeners))
        {
            listener();
        }
    }

    public void Dispose() => _subscription.Dispose();

    private void Remove(Action changed)
    {
        lock (_gate)
        {
            _listeners = [.. _listeners.Where(l => l != changed)];
        }
    }

    private sealed class Listener(LoadBalancingFeed feed, Action changed) : IDisposable
    {
        public void Dispose() => feed.Remove(changed);
    }
}
