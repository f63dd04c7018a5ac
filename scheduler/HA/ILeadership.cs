namespace Orchestrator.Scheduler.HA;

/// <summary>
/// Whether this scheduler is the one that may write, place, reconcile and hold agents' streams. A single
/// scheduler on LiteDB always is (<see cref="SoleLeadership"/>); with several on etcd, one is elected on
/// a lease and the others are standbys that keep their memory warm from etcd's watch and forward calls.
/// </summary>
internal interface ILeadership
{
    /// <summary>This scheduler holds the lease now, and its local deadline for it has not passed.</summary>
    bool IsLeader { get; }

    /// <summary>Where the current leader is reached (its Scheduler:AdvertiseAddress, host:port): this one's own when leader; null when none is known.</summary>
    string? LeaderAddress { get; }

    /// <summary>Why this scheduler may not write now, in words for a client: null when it is the leader.</summary>
    string? NotLeaderReason { get; }

    /// <summary>Completes when this scheduler becomes the leader (at once when it is).</summary>
    Task Elected { get; }

    /// <summary>Cancelled the moment this scheduler stops being the leader (lease lost, deadline passed, etcd gone); never before it was elected.</summary>
    CancellationToken Deposed { get; }
}
