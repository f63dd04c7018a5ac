using Google.Protobuf;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>
/// What a leader proves with each commit: its election key (P/leader/&lt;lease id hex&gt;) still exists with
/// the create revision it had when it won. A leader whose lease expired lost that key, and a new one has
/// another key or revision, so a deposed leader's commit can never land (fencing).
/// </summary>
/// <param name="LeaderKey">The leader's election key, as etcd's Campaign answered it.</param>
/// <param name="CreateRevision">That key's create revision, as Campaign answered it.</param>
internal sealed record EtcdFence(ByteString LeaderKey, long CreateRevision);

/// <summary>
/// A commit was refused because its fence no longer holds: this scheduler is no longer the leader.
/// Nothing was written. The store throws it as the InnerException of a <see cref="StorageException"/>
/// (so every caller that handles storage failures handles it); <see cref="Is"/> tells it apart.
/// </summary>
internal sealed class EtcdFenceLostException(string message) : Exception(message)
{
    /// <summary>Whether the failure of a commit means "no longer the leader" rather than a storage fault.</summary>
    public static bool Is(Exception? error) => error is StorageException { InnerException: EtcdFenceLostException } or EtcdFenceLostException;
}
