namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// The "Agent:Containerd" settings. The defaults are a stock containerd's socket and the CNI plugins of
/// Debian's containernetworking-plugins; the namespace keeps our containers, images and snapshots
/// apart from everything else on that containerd (Docker's and Kubernetes' among them).
/// </summary>
internal sealed class ContainerdOptions
{
    public string Socket { get; set; } = "/run/containerd/containerd.sock";

    /// <summary>containerd's namespace for everything the agent makes (sent as the containerd-namespace header).</summary>
    public string Namespace { get; set; } = "orchestrator";

    public string Snapshotter { get; set; } = "overlayfs";

    /// <summary>Where the CNI plugins are (bridge, portmap, firewall, loopback, host-local).</summary>
    public string CniBinDirectory { get; set; } = "/usr/lib/cni";

    /// <summary>The bridge the containers of bridge mode are attached to, and its subnet (host-local IPAM).</summary>
    public string BridgeName { get; set; } = "orch-cni0";

    public string Subnet { get; set; } = "10.88.0.0/16";

    /// <summary>
    /// A tiny init run as each container's PID 1 (Docker's --init): forwards SIGTERM and reaps zombies.
    /// Empty: the first of docker-init and tini found on the host, else none (then a process that ignores
    /// SIGTERM as PID 1 is killed only at the stop timeout).
    /// </summary>
    public string InitPath { get; set; } = "";

    /// <summary>
    /// Where containers' output is written (one file per container, stdout and stderr together, by
    /// containerd's shim), and task volumes' directories are kept. Relative: under Agent:StateDirectory.
    /// </summary>
    public string DataDirectory { get; set; } = "containerd";

    /// <summary>
    /// Registries pulled from over plain HTTP (comma separated hosts, with the port where it is part of
    /// the image name: "registry.lan:5000"). Registries on localhost/127.0.0.0/8/::1 always are; every
    /// other registry is HTTPS only.
    /// </summary>
    public string InsecureRegistries { get; set; } = "";
}
