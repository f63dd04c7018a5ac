using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>
/// The /etc/hosts, /etc/resolv.conf and /etc/hostname a container gets, written as Docker (libnetwork)
/// writes them, so that a task resolves names alike on either runtime.
/// </summary>
internal static partial class SandboxFiles
{
    private const string HostHostsPath = "/etc/hosts";
    private const string HostResolvConfPath = "/etc/resolv.conf";

    /// <summary>Where systemd-resolved keeps the real upstream servers when /etc/resolv.conf names only its stub.</summary>
    private const string ResolvedUpstreamPath = "/run/systemd/resolve/resolv.conf";

    /// <returns>The three files' paths, in <paramref name="directory"/>.</returns>
    public static (string Hosts, string ResolvConf, string Hostname) Write(string directory, ContainerSpec spec, System.Net.IPAddress? address)
    {
        Directory.CreateDirectory(directory);
        var hosts = Path.Combine(directory, "hosts");
        var resolvConf = Path.Combine(directory, "resolv.conf");
        var hostname = Path.Combine(directory, "hostname");
        var hostHosts = spec.Options.HostNetwork ? ReadOrEmpty(HostHostsPath) : "";
        WriteReadable(hosts, Hosts(spec, address, hostHosts));
        WriteReadable(resolvConf, ResolvConf(spec.Options, HostResolvConf()));
        WriteReadable(hostname, HostnameOf(spec) + "\n");
        return (hosts, resolvConf, hostname);
    }

    /// <summary>Mode 0644 whatever the agent's umask (its systemd unit's is 0027): a container's non-root user must read them.</summary>
    private static void WriteReadable(string path, string text)
    {
        File.WriteAllText(path, text);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("containers' sandbox files are for Linux hosts");
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>
    /// Options.Hostname, else Docker's: the host's name on the host's network, else 12 hex digits
    /// that are the container's own.
    /// </summary>
    public static string HostnameOf(ContainerSpec spec) =>
        spec.Options.Hostname.Length > 0 ? spec.Options.Hostname
        : spec.Options.HostNetwork ? System.Net.Dns.GetHostName()
        : spec.Name.Length > 12 ? UniqueShortName(spec.Name) : spec.Name;

    /// <summary>
    /// Docker's hostname is the first 12 hex digits of the container's random id; our names begin with
    /// the family and revision, alike for every replica, so 12 digits of their hash, unique per container.
    /// </summary>
    private static string UniqueShortName(string name) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..12];

    /// <summary>
    /// libnetwork's hosts file: on the host's network a copy of the host's; else the loopback and IPv6
    /// entries. Then the extra hosts, then the container's own address under its hostname.
    /// </summary>
    /// <param name="hostHosts">The host's /etc/hosts (used on the host's network only).</param>
    internal static string Hosts(ContainerSpec spec, System.Net.IPAddress? address, string hostHosts)
    {
        var text = new StringBuilder();
        if (spec.Options.HostNetwork)
        {
            text.Append(hostHosts);
            if (hostHosts.Length > 0 && !hostHosts.EndsWith('\n'))
            {
                text.Append('\n');
            }
        }
        else
        {
            text.Append("127.0.0.1\tlocalhost\n");
            text.Append("::1\tlocalhost ip6-localhost ip6-loopback\n");
            text.Append("fe00::0\tip6-localnet\n");
            text.Append("ff00::0\tip6-mcastprefix\n");
            text.Append("ff02::1\tip6-allnodes\n");
            text.Append("ff02::2\tip6-allrouters\n");
        }

        foreach (var extra in spec.Options.ExtraHosts)
        {
            // "name:ip"; an IPv6 address has colons of its own, so split at the first.
            var colon = extra.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == extra.Length - 1)
            {
                throw new ContainerOperationException($"CannotCreateContainerError: invalid extra host: {extra}");
            }

            text.Append(extra[(colon + 1)..]).Append('\t').Append(extra[..colon]).Append('\n');
        }

        if (address is not null && !spec.Options.HostNetwork)
        {
            text.Append(address).Append('\t').Append(HostnameOf(spec)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// libnetwork's resolv.conf. Given servers or search domains: those, the rest from the host's. Else on
    /// the host's network the host's as it is; else the host's without loopback servers (they answer on
    /// the host, not in the container's namespace), with Google's two when none is left.
    /// </summary>
    /// <param name="hostResolvConf">The host's /etc/resolv.conf.</param>
    internal static string ResolvConf(ContainerOptions options, string hostResolvConf)
    {
        if (options.DnsServers.Count > 0 || options.DnsSearchDomains.Count > 0)
        {
            var servers = options.DnsServers.Count > 0 ? options.DnsServers : Nameservers(hostResolvConf).Where(s => !IsLoopback(s)).ToList();
            var search = options.DnsSearchDomains.Count > 0 ? options.DnsSearchDomains : Values(hostResolvConf, "search");
            var settings = Values(hostResolvConf, "options");
            var text = new StringBuilder();
            if (search.Count > 0 && string.Join(' ', search).Trim() != ".")
            {
                text.Append("search ").Append(string.Join(' ', search)).Append('\n');
            }

            foreach (var server in servers)
            {
                text.Append("nameserver ").Append(server).Append('\n');
            }

            if (settings.Count > 0)
            {
                text.Append("options ").Append(string.Join(' ', settings)).Append('\n');
            }

            return text.ToString();
        }

        if (options.HostNetwork)
        {
            return hostResolvConf;
        }

        var filtered = LoopbackNameserver().Replace(hostResolvConf, "");
        return Nameservers(filtered).Count > 0 ? filtered : filtered + "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    }

    private static List<string> Nameservers(string resolvConf) => Values(resolvConf, "nameserver");

    /// <summary>The words after the last line starting with <paramref name="keyword"/> (every such line's for nameserver).</summary>
    private static List<string> Values(string resolvConf, string keyword)
    {
        var values = new List<string>();
        foreach (var line in resolvConf.Split('\n'))
        {
            var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 1 && words[0] == keyword)
            {
                if (keyword == "nameserver")
                {
                    values.Add(words[1]);
                }
                else
                {
                    values = [.. words.Skip(1)];
                }
            }
        }

        return values;
    }

    private static bool IsLoopback(string server) =>
        System.Net.IPAddress.TryParse(server, out var ip) && System.Net.IPAddress.IsLoopback(ip);

    /// <summary>libnetwork's localhost pattern: 127.x.x.x and ::1.</summary>
    [GeneratedRegex(@"(?m)^[ \t]*nameserver[ \t]*((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1))[ \t]*\n*")]
    private static partial Regex LoopbackNameserver();

    /// <summary>The host's resolv.conf; systemd-resolved's upstream file when the host's names only the 127.0.0.53 stub, as Docker.</summary>
    private static string HostResolvConf()
    {
        var text = ReadOrEmpty(HostResolvConfPath);
        var servers = Nameservers(text);
        if (servers.Count > 0 && servers.All(s => s == "127.0.0.53") && File.Exists(ResolvedUpstreamPath))
        {
            return ReadOrEmpty(ResolvedUpstreamPath);
        }

        return text;
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
