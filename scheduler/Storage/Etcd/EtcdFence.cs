using Google.Protobuf;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>
/// What a commit compares to prove that its writer is still the elected leader: the leader's election
/// key (P/leader/&lt;lease id hex&gt;) and the revision at which it was created. Once the leader's lease
/// is gone, the key is deleted (or another one's is created at a later revision), so the compare fails
/// and a deposed leader can never write.
/// </summary>
internal sealed record EtcdFence(ByteString Key, long CreateRevision);
