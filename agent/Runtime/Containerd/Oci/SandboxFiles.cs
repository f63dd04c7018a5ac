namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>The /etc/hosts, /etc/resolv.conf and /etc/hostname a container gets, written as Docker writes them. (helper B)</summary>
internal static class SandboxFiles
{
    /// <returns>The three files' paths, in <paramref name="directory"/>.</returns>
    public static (string Hosts, string ResolvConf, string Hostname) Write(string directory, ContainerSpec spec, System.Net.IPAddress? address) =>
        throw new NotImplementedException(directory + spec.Name + address);
}
