namespace Orchestrator.Scheduler.Domain;

internal enum Protocol
{
    Tcp = 0,
    Udp = 1,
}

/// <summary>A host port and its protocol; tcp/80 and udp/80 are different resources.</summary>
internal readonly record struct HostPortKey(int Port, Protocol Protocol)
{
    /// <summary>A dense int key, so port sets are plain <c>HashSet&lt;int&gt;</c>.</summary>
    public int Key => (Port << 1) | (int)Protocol;

    public static HostPortKey FromKey(int key) => new(key >> 1, (Protocol)(key & 1));

    public override string ToString() => $"{Port}/{(Protocol == Protocol.Udp ? "udp" : "tcp")}";
}
