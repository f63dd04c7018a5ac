using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Storage.Etcd;
using V3Electionpb;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// Leader election among the schedulers of one etcd prefix P, with etcd's election API on a lease of
/// Scheduler:Etcd:LeaseTtl: each scheduler grants itself a lease, keeps it alive about every TTL/3 and
/// campaigns for the election P/leader with its advertise address as value; the earliest live key leads.
/// Standbys observe the election to know where the leader is.
/// <para>
/// A leader keeps its own deadline (<see cref="LeaseDeadline"/>): the send time of the last keep-alive
/// etcd answered, plus the TTL, minus a margin. It is checked by a timer and on every read of
/// <see cref="IsLeader"/>, so a leader that was frozen (SIGSTOP, a long pause) and wakes past it is not
/// the leader on its first look, before etcd can have expired its lease and elected another. A leader
/// that loses its lease is deposed for good: <see cref="Deposed"/> is cancelled, <see cref="DeposedReason"/>
/// completes, and the host restarts the process (exit code 5) to come back as a fresh standby; a process
/// never leads twice, so nothing it decided in its first term leaks into a second.
/// </para>
/// <para>
/// On a graceful stop a leader resigns (revokes its lease, which deletes its key), so a planned restart
/// fails over at once rather than after the TTL.
/// </para>
/// </summary>
internal sealed partial class EtcdLeadership : BackgroundService, ILeadership
{
    private static readonly TimeSpan ShortestLease = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(2);

    private readonly EtcdClient _etcd;
    private readonly TimeProvider _time;
    private readonly ILogger<EtcdLeadership> _log;
    private readonly string _address;
    private readonly ByteString _electionName;
    private readonly long _ttlSeconds;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _interval;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _elected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _deposedReason = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _deposed = new();
    private readonly ITimer _deadlineTimer;

    // All guarded by _gate.
    private Role _role = Role.Standby;
    private long _leaseId;
    private LeaseDeadline? _lease;
    private LeaderKey? _leaderKey;
    private string? _deposedBecause;
    private string? _observedLeader;
    private long _lastContact;
    private bool _contacted;
    private string? _etcdError;

    /// <param name="advertiseAddress">host:port where the others reach this scheduler: the value it campaigns with.</param>
    /// <exception cref="InvalidOperationException">A setting is out of range (the message names it).</exception>
    public EtcdLeadership(EtcdClient etcd, EtcdOptions options, string advertiseAddress, TimeProvider time, ILogger<EtcdLeadership> log)
    {
        if (options.LeaseTtl < ShortestLease)
        {
            throw new InvalidOperationException($"Scheduler:Etcd:LeaseTtl is {options.LeaseTtl}; it must be at least {ShortestLease.TotalSeconds:0} seconds (etcd's shortest lease)");
        }

        if (string.IsNullOrWhiteSpace(advertiseAddress))
        {
            throw new InvalidOperationException("Scheduler:AdvertiseAddress is empty; the leader election publishes it for the others to reach this scheduler");
        }

        _etcd = etcd;
        _time = time;
        _log = log;
        _address = advertiseAddress;
        _electionName = ByteString.CopyFromUtf8(ElectionName(options.Prefix));
        _ttlSeconds = (long)Math.Ceiling(options.LeaseTtl.TotalSeconds);
        _ttl = TimeSpan.FromSeconds(_ttlSeconds);
        _interval = _ttl / 3;
        _deadlineTimer = time.CreateTimer(_ => CheckDeadline(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private enum Role
    {
        Standby,
        Leader,
        Deposed,
        Stopped,
    }

    /// <summary>The election name under the prefix: etcd keeps each candidate at P/leader/&lt;lease id hex&gt;.</summary>
    public static string ElectionName(string prefix) => prefix + "/leader";

    public bool IsLeader
    {
        get
        {
            string reason;
            lock (_gate)
            {
                if (_role != Role.Leader)
                {
                    return false;
                }

                if (!_lease!.HasPassed)
                {
                    return true;
                }

                reason = DeadlineReason();
            }

            Depose(reason, restart: true);
            return false;
        }
    }

    public string? LeaderAddress
    {
        get
        {
            if (IsLeader)
            {
                return _address;
            }

            lock (_gate)
            {
                // What etcd said is only believed for a TTL after it last answered: by then a leader it
                // named may have lost its lease without us hearing. Never ourselves once not leading.
                var fresh = _contacted && _time.GetElapsedTime(_lastContact) <= _ttl;
                return fresh && _observedLeader != _address ? _observedLeader : null;
            }
        }
    }

    public string? NotLeaderReason
    {
        get
        {
            if (IsLeader)
            {
                return null;
            }

            lock (_gate)
            {
                switch (_role)
                {
                    case Role.Deposed:
                        return $"this scheduler is no longer the leader: {_deposedBecause}";
                    case Role.Stopped:
                        return "this scheduler is stopping";
                }
            }

            if (LeaderAddress is { } leader)
            {
                return $"this scheduler is a standby; the leader is at {leader}";
            }

            lock (_gate)
            {
                return _etcdError is { } error
                    ? $"no leader is known: etcd unreachable ({error})"
                    : "no leader is known: an election is under way";
            }
        }
    }

    public Task Elected => _elected.Task;

    public CancellationToken Deposed => _deposed.Token;

    /// <summary>
    /// Completes with the reason when this scheduler loses the leadership it held (lease lost, etcd
    /// unreachable past the deadline): the host stops and exits with code 5 to come back as a standby.
    /// Not completed by a resignation at a graceful stop.
    /// </summary>
    public Task<string> DeposedReason => _deposedReason.Task;

    /// <summary>What the leader's commits compare (its election key and its create revision); null when not the leader.</summary>
    public EtcdFence? Fence
    {
        get
        {
            if (!IsLeader)
            {
                return null;
            }

            lock (_gate)
            {
                return _leaderKey is { } key ? new EtcdFence(key.Key, key.Rev) : null;
            }
        }
    }

    /// <summary>The lease of the current term (0 before one is granted): for tests that ask etcd about it.</summary>
    internal long LeaseId
    {
        get
        {
            lock (_gate)
            {
                return _leaseId;
            }
        }
    }

    /// <summary>Tests: stops sending keep-alives, as a leader cut off from etcd or frozen would.</summary>
    internal bool KeepAlivesSuspended { get; set; }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        bool wasLeader;
        lock (_gate)
        {
            wasLeader = _role == Role.Leader;
            if (_role == Role.Standby)
            {
                _role = Role.Stopped;
            }
        }

        // Writers stop first; then the keep-alives; then the lease goes, and with it our key, so the
        // next candidate is elected now rather than after the TTL.
        if (wasLeader)
        {
            Depose("resigned: this scheduler is stopping", restart: false);
        }

        await base.StopAsync(cancellationToken);
        await RevokeAsync(onlyWhenDeposed: false);
    }

    public override void Dispose()
    {
        _deadlineTimer.Dispose();
        _deposed.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var observing = ObserveLeaderAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested && CurrentRole() == Role.Standby)
        {
            await RunTermAsync(stoppingToken);
        }

        // A deposed leader gives its lease back at once (etcd may well answer now, e.g. after a freeze),
        // so that a standby takes over without waiting out the TTL.
        if (!stoppingToken.IsCancellationRequested)
        {
            await RevokeAsync(onlyWhenDeposed: true);
        }

        await observing;
    }

    /// <summary>One lease: grant it, keep it alive, campaign with it, lead with it; returns when it is lost or we stop.</summary>
    private async Task RunTermAsync(CancellationToken stopping)
    {
        var sentAt = _time.GetTimestamp();
        LeaseGrantResponse grant;
        try
        {
            using var timeout = RequestTimeout(stopping);
            grant = await _etcd.LeaseGrantAsync(new LeaseGrantRequest { TTL = _ttlSeconds }, deadline: RequestDeadline(), cancellationToken: timeout.Token);
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            Unreachable(e);
            await DelayAsync(_interval, stopping);
            return;
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            return;
        }

        var lease = new LeaseDeadline(_time, sentAt, TimeSpan.FromSeconds(grant.TTL));
        lock (_gate)
        {
            _leaseId = grant.ID;
            _lease = lease;
        }

        Contact();
        using var term = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var keepingAlive = KeepAliveAsync(grant.ID, lease, term);
        try
        {
            if (await CampaignAsync(grant.ID, term.Token) is { } key)
            {
                if (lease.HasPassed)
                {
                    // The campaign came back after our deadline (etcd was unreachable, or we were paused,
                    // while it waited): the lease may be gone on etcd's side and the key with it. Never
                    // lead on it: give it back and campaign afresh with a new lease.
                    LogStaleElection(_log);
                    await RevokeAsync(onlyWhenDeposed: false);
                    return;
                }

                BecomeLeader(key, lease);
            }

            await keepingAlive;
        }
        finally
        {
            await term.CancelAsync();
            await keepingAlive;
        }
    }

    /// <summary>Campaigns until elected (the leader key) or the term ends (null); a failed call is retried with the same lease, which etcd takes as the same candidate.</summary>
    private async Task<LeaderKey?> CampaignAsync(long leaseId, CancellationToken term)
    {
        var request = new CampaignRequest { Name = _electionName, Lease = leaseId, Value = ByteString.CopyFromUtf8(_address) };
        while (!term.IsCancellationRequested)
        {
            try
            {
                var response = await _etcd.CampaignAsync(request, cancellationToken: term);
                Contact();
                return response.Leader;
            }
            catch (Exception) when (term.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception e)
            {
                Unreachable(e);
                await DelayAsync(_interval, term);
            }
        }

        return null;
    }

    /// <summary>Renews the lease every TTL/3 until the term ends; ends the term when etcd says the lease is gone or this one was deposed.</summary>
    private async Task KeepAliveAsync(long leaseId, LeaseDeadline lease, CancellationTokenSource term)
    {
        using var stream = new LeaseKeepAliveStream(_etcd.GetConnection().LeaseClient);
        while (!term.IsCancellationRequested)
        {
            if (!KeepAlivesSuspended && !await RenewAsync(stream, leaseId, lease, term.Token))
            {
                break;
            }

            // The timer checks the deadline too; this catches it when the timer could not run (a freeze).
            _ = IsLeader;
            if (CurrentRole() != Role.Standby && CurrentRole() != Role.Leader)
            {
                break;
            }

            await DelayAsync(_interval, term.Token);
        }

        await term.CancelAsync();
    }

    /// <summary>One keep-alive; false when the lease is gone (the term is over).</summary>
    private async Task<bool> RenewAsync(LeaseKeepAliveStream stream, long leaseId, LeaseDeadline lease, CancellationToken term)
    {
        var sentAt = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_interval, _time);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(term, timeout.Token);
        long ttl;
        try
        {
            ttl = await stream.RenewAsync(leaseId, call.Token);
        }
        catch (Exception) when (term.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception) when (timeout.IsCancellationRequested)
        {
            Unreachable($"no answer to a lease keep-alive within {_interval.TotalSeconds:0.#} s");
            return true;
        }
        catch (Exception e)
        {
            Unreachable(e);
            return true;
        }

        Contact();
        if (ttl <= 0)
        {
            if (CurrentRole() == Role.Leader)
            {
                Depose("lease lost: etcd expired it before a keep-alive reached it", restart: true);
            }

            return false;
        }

        lease.Renewed(sentAt, TimeSpan.FromSeconds(ttl));
        ArmDeadlineTimer(lease);
        await RefreshLeaderAsync(term);
        return true;
    }

    /// <summary>Asks etcd who leads (with the keep-alives): corrects what the observer missed, e.g. a leader key deleted with no successor yet.</summary>
    private async Task RefreshLeaderAsync(CancellationToken term)
    {
        try
        {
            using var timeout = RequestTimeout(term);
            var response = await _etcd.LeaderAsync(new LeaderRequest { Name = _electionName }, deadline: RequestDeadline(), cancellationToken: timeout.Token);
            Observed(response.Kv);
        }
        catch (RpcException e) when (e.Status.Detail.Contains("no leader", StringComparison.Ordinal))
        {
            Observed(null);
        }
        catch (Exception)
        {
            // Not a verdict on etcd: the keep-alive, which just got through, says whether it answers.
        }
    }

    /// <summary>Follows etcd's Observe stream for the whole life of the process: standbys learn a new leader the moment it is elected.</summary>
    private async Task ObserveLeaderAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await foreach (var response in _etcd.ObserveAsync(new LeaderRequest { Name = _electionName }, cancellationToken: stopping))
                {
                    Contact();
                    Observed(response.Kv);
                }
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // The keep-alives report etcd's state; the observation is simply taken up again.
            }

            await DelayAsync(_interval, stopping);
        }
    }

    private void BecomeLeader(LeaderKey key, LeaseDeadline lease)
    {
        lock (_gate)
        {
            if (_role != Role.Standby)
            {
                return;
            }

            _role = Role.Leader;
            _leaderKey = key;
            _observedLeader = _address;
        }

        ArmDeadlineTimer(lease);

        // The deadline passing between the caller's check and here is caught as anywhere else: deposed.
        if (IsLeader)
        {
            LogElected(_log, _address, key.Rev);
            _elected.TrySetResult();
        }
    }

    private void Depose(string reason, bool restart)
    {
        lock (_gate)
        {
            if (_role != Role.Leader)
            {
                return;
            }

            _role = Role.Deposed;
            _deposedBecause = reason;
            _leaderKey = null;
            _observedLeader = null;
        }

        _deadlineTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        LogLost(_log, reason);
        // On the thread pool: Depose can run inside an IsLeader read under the state's lock (a commit's
        // check), and the token's callbacks end agent streams, whose continuations call back into the state.
        _ = Task.Run(_deposed.Cancel);
        if (restart)
        {
            _deposedReason.TrySetResult(reason);
        }
    }

    /// <summary>
    /// The store found this scheduler's election key gone or made again while it believed it led (its
    /// fence failed): it is deposed at once, and restarts as a standby, whatever its lease says.
    /// </summary>
    public void FenceLost(string why) => Depose($"fence lost: {why}", restart: true);

    /// <summary>
    /// The timer's check: deposes a leader past its deadline, and otherwise arms itself again for the
    /// deadline as it is now. It never depends on the keep-alive loop, which may be stuck on etcd.
    /// </summary>
    private void CheckDeadline()
    {
        LeaseDeadline? lease;
        lock (_gate)
        {
            lease = _lease;
        }

        if (IsLeader && lease is not null)
        {
            ArmDeadlineTimer(lease);
        }
    }

    private void ArmDeadlineTimer(LeaseDeadline lease)
    {
        if (CurrentRole() != Role.Leader)
        {
            return;
        }

        var remaining = lease.Remaining;
        _deadlineTimer.Change(remaining > TimeSpan.Zero ? remaining + TimeSpan.FromMilliseconds(1) : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void Observed(Mvccpb.KeyValue? leader)
    {
        var address = leader?.Value.ToStringUtf8();
        bool changed;
        lock (_gate)
        {
            changed = _observedLeader != address;
            _observedLeader = address;
        }

        if (changed && address is not null && address != _address)
        {
            LogLeaderObserved(_log, address);
        }

        // A key created after ours leads: ours is gone, the lease was lost on etcd's side. (An older key
        // is an answer that left etcd before we were elected, not news.)
        if (leader is not null && CurrentRole() == Role.Leader)
        {
            lock (_gate)
            {
                if (_leaderKey is null || leader.CreateRevision <= _leaderKey.Rev)
                {
                    return;
                }
            }

            Depose("lease lost: another scheduler's key leads the election", restart: true);
        }
    }

    private void Contact()
    {
        string? was;
        lock (_gate)
        {
            _lastContact = _time.GetTimestamp();
            _contacted = true;
            was = _etcdError;
            _etcdError = null;
        }

        if (was is not null)
        {
            LogReachable(_log);
        }
    }

    private void Unreachable(Exception e) => Unreachable(e is RpcException rpc ? $"{rpc.Status.StatusCode}: {rpc.Status.Detail}" : e.Message);

    private void Unreachable(string error)
    {
        bool first;
        lock (_gate)
        {
            first = _etcdError is null;
            _etcdError = error;
        }

        if (first)
        {
            LogUnreachable(_log, error);
        }
    }

    // Called under _gate.
    private string DeadlineReason() => _etcdError is { } error
        ? $"etcd unreachable ({error}): the lease could not be renewed before its deadline"
        : "lease lost: it was not renewed before its deadline (the process was paused, or etcd answered too late)";

    private Role CurrentRole()
    {
        lock (_gate)
        {
            return _role;
        }
    }

    /// <summary>Gives the current lease back, once (a deposed leader's, or anyone's at stop).</summary>
    private async Task RevokeAsync(bool onlyWhenDeposed)
    {
        long lease;
        lock (_gate)
        {
            if (_leaseId == 0 || (onlyWhenDeposed && _role != Role.Deposed))
            {
                return;
            }

            lease = _leaseId;
            _leaseId = 0;
        }

        try
        {
            using var timeout = new CancellationTokenSource(ReleaseTimeout, _time);
            await _etcd.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: _time.GetUtcNow().UtcDateTime + ReleaseTimeout, cancellationToken: timeout.Token);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // Already expired on etcd's side: nothing left to give back.
        }
        catch (Exception e)
        {
            LogReleaseFailed(_log, e is RpcException rpc ? $"{rpc.Status.StatusCode}: {rpc.Status.Detail}" : e.Message);
        }
    }

    private DateTime RequestDeadline() => _time.GetUtcNow().UtcDateTime + _interval;

    // Besides the gRPC deadline: the client's own retries must not hold a loop past the interval either.
    private CancellationTokenSource RequestTimeout(CancellationToken outer)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(outer);
        timeout.CancelAfter(_interval);
        return timeout;
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The caller's loop looks at the token.
        }
    }

    [LoggerMessage(LogEvents.LeaderElected, LogLevel.Information, "This scheduler ({Address}) is now the leader (election key created at revision {Revision})")]
    private static partial void LogElected(ILogger logger, string address, long revision);

    [LoggerMessage(LogEvents.LeadershipLost, LogLevel.Warning, "This scheduler is no longer the leader: {Reason}")]
    private static partial void LogLost(ILogger logger, string reason);

    [LoggerMessage(LogEvents.LeaderObserved, LogLevel.Information, "The leader is at {Address}")]
    private static partial void LogLeaderObserved(ILogger logger, string address);

    [LoggerMessage(LogEvents.LeadershipEtcdUnreachable, LogLevel.Warning, "etcd does not answer the leader election: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string error);

    [LoggerMessage(LogEvents.LeadershipEtcdReachable, LogLevel.Information, "etcd answers the leader election again")]
    private static partial void LogReachable(ILogger logger);

    [LoggerMessage(LogEvents.LeadershipStaleElection, LogLevel.Information, "Elected on a lease whose deadline had passed; campaigning again with a new lease")]
    private static partial void LogStaleElection(ILogger logger);

    [LoggerMessage(LogEvents.LeadershipReleaseFailed, LogLevel.Warning, "Could not give the election lease back to etcd ({Error}); the others wait for it to expire")]
    private static partial void LogReleaseFailed(ILogger logger, string error);
}
