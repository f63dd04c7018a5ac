using System.Net;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd.Oci;

namespace Orchestrator.Agent.Tests.Containerd;

internal sealed class SandboxFilesTests
{
    private const string Defaults = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

    private static ContainerSpec Spec(ContainerOptions options) => OciSpecBuilderTests.Spec(options);

    [Test]
    public void The_hostname_is_the_options() =>
        Assert.That(SandboxFiles.HostnameOf(Spec(new ContainerOptions { Hostname = "web" })), Is.EqualTo("web"));

    [Test]
    public void Else_replicas_of_one_family_get_hostnames_of_their_own()
    {
        var first = SandboxFiles.HostnameOf(Spec(new ContainerOptions()) with { Name = "orch-web-3-app-0123456789ab" });
        var second = SandboxFiles.HostnameOf(Spec(new ContainerOptions()) with { Name = "orch-web-3-app-ba9876543210" });
        Assert.That(first, Does.Match("^[0-9a-f]{12}$"));
        Assert.That(second, Does.Match("^[0-9a-f]{12}$").And.Not.EqualTo(first));
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void The_files_are_readable_by_a_containers_non_root_user_whatever_the_agents_umask()
    {
        var directory = Directory.CreateTempSubdirectory("sandbox-").FullName;
        var umask = SetUmask(Convert.ToUInt32("027", 8)); // the systemd unit's
        try
        {
            var files = SandboxFiles.Write(directory, Spec(new ContainerOptions()), null);
            foreach (var path in new[] { files.Hosts, files.ResolvConf, files.Hostname })
            {
                Assert.That(File.GetUnixFileMode(path) & UnixFileMode.OtherRead, Is.EqualTo(UnixFileMode.OtherRead), path);
            }
        }
        finally
        {
            SetUmask(umask);
            Directory.Delete(directory, recursive: true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "umask")]
#pragma warning disable SYSLIB1054 // one P/Invoke in a test
    private static extern uint SetUmask(uint mask);
#pragma warning restore SYSLIB1054

    [Test]
    public void A_short_name_is_the_hostname_whole() =>
        Assert.That(SandboxFiles.HostnameOf(Spec(new ContainerOptions()) with { Name = "short" }), Is.EqualTo("short"));

    [Test]
    public void On_the_hosts_network_the_hostname_is_the_hosts() =>
        Assert.That(SandboxFiles.HostnameOf(Spec(new ContainerOptions { NetworkMode = "host" })), Is.EqualTo(Dns.GetHostName()));

    [Test]
    public void Hosts_has_the_defaults_the_extra_hosts_then_the_containers_address() =>
        Assert.That(
            SandboxFiles.Hosts(Spec(new ContainerOptions { Hostname = "web", ExtraHosts = ["db:10.0.0.5", "v6:fd00::1"] }), IPAddress.Parse("10.4.0.2"), "ignored"),
            Is.EqualTo(Defaults + "10.0.0.5\tdb\nfd00::1\tv6\n10.4.0.2\tweb\n"));

    [Test]
    public void Hosts_without_an_address_has_the_defaults_only() =>
        Assert.That(SandboxFiles.Hosts(Spec(new ContainerOptions()), null, "ignored"), Is.EqualTo(Defaults));

    [Test]
    public void On_the_hosts_network_hosts_is_a_copy_of_the_hosts_plus_the_extra_hosts() =>
        Assert.That(
            SandboxFiles.Hosts(Spec(new ContainerOptions { NetworkMode = "host", ExtraHosts = ["db:10.0.0.5"] }), IPAddress.Parse("10.4.0.2"), "127.0.0.1 localhost\n10.1.1.1 node1"),
            Is.EqualTo("127.0.0.1 localhost\n10.1.1.1 node1\n10.0.0.5\tdb\n"));

    [TestCase("db")]
    [TestCase("db:")]
    [TestCase(":10.0.0.5")]
    public void A_malformed_extra_host_is_refused(string extra) =>
        Assert.Throws<ContainerOperationException>(() => SandboxFiles.Hosts(Spec(new ContainerOptions { ExtraHosts = [extra] }), null, ""));

    // The host's resolv.conf without loopback servers; Google's two only when none is left (libnetwork's FilterResolvDNS).
    [TestCase("nameserver 10.0.0.2\nsearch corp\n", "nameserver 10.0.0.2\nsearch corp\n")]
    [TestCase("nameserver 127.0.0.53\nnameserver 10.0.0.2\noptions edns0\n", "nameserver 10.0.0.2\noptions edns0\n")]
    [TestCase("nameserver ::1\nnameserver 127.0.0.1\nsearch corp\n", "search corp\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n")]
    [TestCase("", "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n")]
    [TestCase("nameserver fd00::53\n", "nameserver fd00::53\n")]
    public void Resolv_conf_is_the_hosts_without_loopback_servers(string host, string expected) =>
        Assert.That(SandboxFiles.ResolvConf(new ContainerOptions(), host), Is.EqualTo(expected));

    [Test]
    public void Given_servers_and_domains_replace_the_hosts_and_its_options_stay() =>
        Assert.That(
            SandboxFiles.ResolvConf(new ContainerOptions { DnsServers = ["1.1.1.1", "9.9.9.9"], DnsSearchDomains = ["a.example", "b.example"] }, "nameserver 10.0.0.2\nsearch corp\noptions ndots:2\n"),
            Is.EqualTo("search a.example b.example\nnameserver 1.1.1.1\nnameserver 9.9.9.9\noptions ndots:2\n"));

    [Test]
    public void Given_search_domains_alone_keep_the_hosts_non_loopback_servers() =>
        Assert.That(
            SandboxFiles.ResolvConf(new ContainerOptions { DnsSearchDomains = ["a.example"] }, "nameserver 127.0.0.1\nnameserver 10.0.0.2\nsearch corp\n"),
            Is.EqualTo("search a.example\nnameserver 10.0.0.2\n"));

    [Test]
    public void On_the_hosts_network_resolv_conf_is_the_hosts_as_it_is() =>
        Assert.That(SandboxFiles.ResolvConf(new ContainerOptions { NetworkMode = "host" }, "nameserver 127.0.0.53\n"), Is.EqualTo("nameserver 127.0.0.53\n"));

    [Test]
    public void Write_puts_the_three_files_in_the_directory()
    {
        var directory = Path.Combine(Directory.CreateTempSubdirectory("orchestrator-sandbox-").FullName, "task");
        try
        {
            var files = SandboxFiles.Write(directory, Spec(new ContainerOptions { Hostname = "web", DnsServers = ["10.9.9.9"] }), IPAddress.Parse("10.4.0.2"));

            Assert.Multiple(() =>
            {
                Assert.That(files.Hosts, Is.EqualTo(Path.Combine(directory, "hosts")));
                Assert.That(File.ReadAllText(files.Hosts), Is.EqualTo(Defaults + "10.4.0.2\tweb\n"));
                Assert.That(File.ReadAllText(files.ResolvConf), Does.Contain("nameserver 10.9.9.9\n"));
                Assert.That(File.ReadAllText(files.Hostname), Is.EqualTo("web\n"));
            });
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(directory)!, true);
        }
    }
}
