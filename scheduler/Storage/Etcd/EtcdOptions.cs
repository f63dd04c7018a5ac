namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>
/// The "Scheduler:Etcd" settings, used when Scheduler:Store is "etcd": where etcd is, how to reach it, and
/// where in its key space this cluster of ours keeps its state (several can share one etcd).
/// </summary>
internal sealed class EtcdOptions
{
    /// <summary>The etcd members' client URLs, comma-separated: http://HOST:2379 or https://HOST:2379.</summary>
    public string Endpoints { get; set; } = "http://127.0.0.1:2379";

    /// <summary>
    /// The key prefix under which everything of this cluster lives (state, version, leader election):
    /// it must start with "/" and not end with one. Another prefix is another, independent cluster.
    /// </summary>
    public string Prefix { get; set; } = "/orchestrator/default";

    /// <summary>
    /// The leader's lease: a leader that cannot renew it within this time is replaced, and stops writing
    /// on its own before the lease can have expired on etcd's side. Failover takes about this long.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a starting scheduler waits for etcd before it gives up with a clear line and exit code 2.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>PEM CA that signed the etcd members' certificates (https endpoints); empty: the system's roots.</summary>
    public string CaCertificate { get; set; } = "";

    /// <summary>PEM client certificate and key presented to etcd (client-cert-auth); both or neither.</summary>
    public string ClientCertificate { get; set; } = "";

    public string ClientKey { get; set; } = "";

    /// <summary>etcd's --max-txn-ops (128 by default): no commit has more puts and deletes than this.</summary>
    public int MaxTxnOps { get; set; } = 128;

    /// <summary>etcd's --max-request-bytes (1.5 MiB by default): no commit's request is larger than this.</summary>
    public int MaxRequestBytes { get; set; } = 1536 * 1024;
}
