using System.Threading.Channels;

namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>One balancer's stream as the scheduler holds it: its name, the groups it serves, a signal that its targets may have changed.</summary>
internal sealed class BalancerConnection : IDisposable
{
    private static long _lastId;

    // At most one signal waits: a burst of commits makes one assignment, read after the last of them.
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _replaced = new();

    public BalancerConnection(string name, IReadOnlyCollection<string> targetGroups)
    {
        Name = name;
        TargetGroups = targetGroups.ToHashSet(StringComparer.Ordinal);
    }

    public long Id { get; } = Interlocked.Increment(ref _lastId);

    public string Name { get; }

    /// <summary>The groups it serves; empty: all of them.</summary>
    public IReadOnlySet<string> TargetGroups { get; }

    /// <summary>Cancelled when a newer stream of the same name replaced this one.</summary>
    public CancellationToken Replaced => _replaced.Token;

    public ChannelReader<bool> Signals => _signal.Reader;

    /// <summary>Its targets may have changed: never blocks.</summary>
    public void Signal() => _signal.Writer.TryWrite(true);

    public void Replace()
    {
        try
        {
            _replaced.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Its stream has ended already.
        }
    }

    public void Dispose()
    {
        _signal.Writer.TryComplete();
        _replaced.Dispose();
    }
}

/// <summary>
/// The balancers connected to this scheduler, by name: a stream that says hello with a name in use
/// replaces the one that had it (which ends with ABORTED), as a restarted balancer would.
/// </summary>
internal sealed class BalancerConnections
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BalancerConnection> _byName = new(StringComparer.Ordinal);

    /// <returns>The connection it replaced, already told; null when the name was free.</returns>
    public BalancerConnection? Add(BalancerConnection connection)
    {
        BalancerConnection? previous;
        lock (_gate)
        {
            _byName.TryGetValue(connection.Name, out previous);
            _byName[connection.Name] = connection;
        }

        previous?.Replace();
        return previous;
    }

    public void Remove(BalancerConnection connection)
    {
        lock (_gate)
        {
            if (_byName.TryGetValue(connection.Name, out var held) && held.Id == connection.Id)
            {
                _byName.Remove(connection.Name);
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byName.Count;
            }
        }
    }
}
