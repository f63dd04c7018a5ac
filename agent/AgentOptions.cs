namespace Orchestrator.Agent;

/// <summary>The "Agent" configuration section. Every setting is listed in the README.</summary>
internal sealed class AgentOptions
{
    public const string Section = "Agent";

    /// <summary>
    /// The scheduler's gRPC address: https:// (TLS, a node certificate), or http:// for a scheduler started
    /// with Scheduler:Insecure. With several schedulers, several addresses separated by commas: the agent
    /// uses one, and when it fails or is a standby, goes to the leader the standby names, else the next
    /// (see <see cref="Connection.SchedulerAddresses"/>).
    /// </summary>
    public string SchedulerAddress { get; set; } = "https://127.0.0.1:7400";

    /// <summary>
    /// Address and port of the Prometheus endpoint (plain HTTP/1.1, <c>/metrics</c>). Loopback unless
    /// the operator names another address; empty turns it off.
    /// </summary>
    public string MetricsListen { get; set; } = "127.0.0.1:9401";

    /// <summary>The cluster's join token (ORCH-1-digest-secret), needed only to join (the first start, or Rejoin). Never logged.</summary>
    public string JoinToken { get; set; } = "";

    /// <summary>Where the node's key and certificates are kept.</summary>
    public string StateDirectory { get; set; } = "data/agent";

    /// <summary>
    /// A file holding the join token, instead of Agent:JoinToken: keeps the secret out of the
    /// environment, and lets agents read the token a scheduler wrote (Docker Compose shares its volume).
    /// </summary>
    public string JoinTokenFile { get; set; } = "";

    /// <summary>A PEM file of the CA to trust for the scheduler's certificate instead of the join token's digest and the cluster CA.</summary>
    public string CaCertificate { get; set; } = "";

    public string Cluster { get; set; } = "default";

    /// <summary>Defaults to the host name.</summary>
    public string NodeName { get; set; } = "";

    /// <summary>Custom attributes, "key=value" pairs separated by commas, e.g. "zone=a,disk=ssd".</summary>
    public string Attributes { get; set; } = "";

    /// <summary>Tags the node gets when it first registers, "key=value" pairs separated by commas (as ECS_CONTAINER_INSTANCE_TAGS).</summary>
    public string Tags { get; set; } = "";

    /// <summary>CPU units kept for the host (1024 = one CPU), as ECS_RESERVED_... .</summary>
    public int ReservedCpu { get; set; }

    /// <summary>MiB kept for the host, as ECS_RESERVED_MEMORY.</summary>
    public int ReservedMemory { get; set; }

    /// <summary>CPU units to offer instead of what Docker reports (several agents on one host).</summary>
    public int? CpuOverride { get; set; }

    /// <summary>MiB to offer instead of what Docker reports.</summary>
    public int? MemoryOverride { get; set; }

    public string DockerEndpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>The container runtime this node runs tasks on: "docker" (the default) or "containerd" (<see cref="Containerd"/>).</summary>
    public string Runtime { get; set; } = Orchestrator.Agent.Runtime.RuntimeCapabilities.Docker;

    /// <summary>The "Agent:Containerd" settings, used when <see cref="Runtime"/> is containerd.</summary>
    public Orchestrator.Agent.Runtime.Containerd.ContainerdOptions Containerd { get; set; } = new();

    /// <summary>Used until the scheduler says otherwise in its Registered message.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The host address container ports are published on.</summary>
    public string HostIp { get; set; } = "0.0.0.0";

    /// <summary>
    /// The address (an IP or a host name) where this node's published ports are reachable from the
    /// balancers and service discovery clients; sent as the node attribute "host-address". Empty: the
    /// scheduler uses the address it sees this agent's stream come from.
    /// </summary>
    public string AdvertiseAddress { get; set; } = "";

    /// <summary>The attribute the scheduler reads <see cref="AdvertiseAddress"/> from.</summary>
    public const string HostAddressAttribute = "host-address";

    /// <summary>The <see cref="AdvertiseAddress"/>, checked: empty, an IP address, or a host name (RFC 1123).</summary>
    /// <exception cref="FormatException">Neither.</exception>
    public string ParseAdvertiseAddress()
    {
        var address = AdvertiseAddress.Trim();
        if (address.Length == 0 || System.Net.IPAddress.TryParse(address, out _))
        {
            return address;
        }

        return Uri.CheckHostName(address) == UriHostNameType.Dns && address.Length <= 253
            ? address
            : throw new FormatException($"Agent:AdvertiseAddress must be an IP address or a host name, not \"{address}\"");
    }

    /// <summary>How long a stopped task's containers stay on the host (for logs and inspection) before removal.</summary>
    public TimeSpan StoppedContainerRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Register this node again although an operator deregistered it (it is INACTIVE). Sent with the
    /// first registration of this process only: meant for one deliberate start, not for agent.env.
    /// Over TLS it also joins again with the join token (a new key and certificate) although the state
    /// directory holds a certificate.
    /// </summary>
    public bool Rejoin { get; set; }

    /// <summary>
    /// Lets tasks run privileged containers (in effect root on the host). Off: such a task fails to start
    /// here, and the scheduler, told through the node's policy, does not place it here.
    /// </summary>
    public bool AllowPrivileged { get; set; }

    /// <summary>
    /// The host paths task volumes may bind-mount (a volume's host.sourcePath must lie under one),
    /// absolute, separated by commas. Empty: only <see cref="StateDirectory"/>/volumes, created at start.
    /// </summary>
    public string AllowedHostPaths { get; set; } = "";

    /// <summary>The log driver of containers whose definition names none: "local", "json-file", "journald", "syslog" or "none".</summary>
    public string LogDriver { get; set; } = "local";

    /// <summary>The size at which a "local" or "json-file" log is rotated, where the definition gives no max-size (Docker's form: 10m, 512k, 1g).</summary>
    public string LogMaxSize { get; set; } = "10m";

    /// <summary>How many rotated files such a log keeps, where the definition gives no max-size: the cap is LogMaxSize x LogMaxFiles.</summary>
    public int LogMaxFiles { get; set; } = 3;

    /// <summary>Where secret files are written (per task and container) for their bind mount at /run/secrets. Meant to be on a tmpfs.</summary>
    public string SecretsDirectory { get; set; } = "/run/orchestrator-agent/secrets";

    public string EffectiveNodeName => NodeName.Length > 0 ? NodeName : Environment.MachineName;

    public Dictionary<string, string> ParseAttributes() => ParsePairs(Attributes, "Agent:Attributes");

    public Dictionary<string, string> ParseTags() => ParsePairs(Tags, "Agent:Tags");

    private static Dictionary<string, string> ParsePairs(string text, string setting)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"{setting} must be key=value pairs separated by commas, not \"{pair}\"");
            }

            pairs[pair[..equals].Trim()] = pair[(equals + 1)..].Trim();
        }

        return pairs;
    }
}
