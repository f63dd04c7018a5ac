using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Scheduler.State;

/// <summary>The "Scheduler" configuration section. Every setting is listed in the README.</summary>
internal sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Address and port of the gRPC endpoint (TLS unless <see cref="Insecure"/>).</summary>
    public string Listen { get; set; } = "127.0.0.1:7400";

    /// <summary>
    /// Address and port of the Prometheus endpoint (plain HTTP/1.1, <c>/metrics</c>), a port of its own
    /// because the gRPC port speaks only HTTP/2. Loopback unless the operator names another address;
    /// empty turns it off.
    /// </summary>
    public string MetricsListen { get; set; } = "127.0.0.1:9400";

    /// <summary>
    /// Serve cleartext h2c, and take agents' node names from their registration, as before TLS. Only on
    /// a loopback address: anything else refuses to start. API tokens are needed either way.
    /// </summary>
    public bool Insecure { get; set; }

    /// <summary>The operator's own cluster CA (PEM certificate and key); unset: one is made in the data directory.</summary>
    public string CaCertificate { get; set; } = "";

    public string CaKey { get; set; } = "";

    /// <summary>More names for the server certificate, comma-separated (host names or addresses agents use).</summary>
    public string TlsHostNames { get; set; } = "";

    /// <summary>How long node certificates are valid; agents renew them when a third is left.</summary>
    public TimeSpan NodeCertificateLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Where the CA, the server certificate and the token files live: beside the database.</summary>
    public string DataDirectory => Path.GetDirectoryName(Path.GetFullPath(DataPath)) ?? ".";

    /// <summary>
    /// Where the state is kept: "litedb" (the file at <see cref="DataPath"/>, one scheduler) or "etcd"
    /// (<see cref="Etcd"/>: several schedulers, one elected leader, the others standbys).
    /// </summary>
    public string Store { get; set; } = StoreKinds.LiteDb;

    /// <summary>The etcd store's settings (Scheduler:Etcd:*), used when <see cref="Store"/> is "etcd".</summary>
    public Storage.Etcd.EtcdOptions Etcd { get; set; } = new();

    /// <summary>
    /// host:port at which the other schedulers and the agents reach this one (with Store=etcd: what the
    /// leader election publishes, where standbys forward calls and send agents). Empty: <see cref="Listen"/>,
    /// unless it is a wildcard address, which etcd mode refuses.
    /// </summary>
    public string AdvertiseAddress { get; set; } = "";

    public bool UsesEtcd => string.Equals(Store, StoreKinds.Etcd, StringComparison.OrdinalIgnoreCase);

    /// <summary>The LiteDB file.</summary>
    public string DataPath { get; set; } = "data/scheduler.db";

    /// <summary>
    /// fdatasync after every commit (one per group of calls), before the callers are answered, so that
    /// an acknowledged change survives a power cut. Off: it survives a crash of the process only.
    /// </summary>
    public bool FlushCommits { get; set; } = true;

    /// <summary>How long STOPPED tasks and RunTask client tokens are kept.</summary>
    public TimeSpan StoppedTaskRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Host ports handed out as dynamic ports, "first-last".</summary>
    public string DynamicPortRange { get; set; } = "49153-65535";

    /// <summary>How often agents are asked to send heartbeats.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A node whose agent sent no heartbeat for this long is disconnected (its stream closed), as
    /// Swarm does after three missed 5 s heartbeats.
    /// </summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a node may be without its agent before its tasks are recorded STOPPED (NodeLost) and
    /// services replace them elsewhere. A restarted scheduler gives every agent this long to come back.
    /// </summary>
    public TimeSpan NodeLostGrace { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Seed for placement tie-breaks and the random strategy; unset means a new seed per start.</summary>
    public ulong? PlacementSeed { get; set; }

    public PortRange ParseDynamicPortRange() =>
        TryParseDynamicPortRange(out var range) ? range : throw new FormatException(DynamicPortRangeProblem);

    public bool TryParseDynamicPortRange(out PortRange range)
    {
        var parts = DynamicPortRange.Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length == 2 && int.TryParse(parts[0], out var first) && int.TryParse(parts[1], out var last)
            && first is >= 1 and <= 65535 && last is >= 1 and <= 65535 && first <= last)
        {
            range = new PortRange(first, last);
            return true;
        }

        range = default;
        return false;
    }

    public string DynamicPortRangeProblem => $"Scheduler:DynamicPortRange must be \"first-last\" within 1-65535, not \"{DynamicPortRange}\"";
}

/// <summary>The values of Scheduler:Store.</summary>
internal static class StoreKinds
{
    public const string LiteDb = "litedb";
    public const string Etcd = "etcd";
}
