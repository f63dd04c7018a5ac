using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>The task's networkMode, what each mode allows, and containers' hostname, extraHosts and DNS settings.</summary>
internal sealed class NetworkModeValidatorTests
{
    private const string HostnameRule = "dot-separated labels of letters, digits and hyphens, each 1 to 63 characters not starting or ending with a hyphen";

    /// <summary>The full definition without what host and none modes refuse, so that each case spoils one thing.</summary>
    private static void WithoutBridgeOnlySettings(RegisterTaskDefinitionRequest request)
    {
        request.ContainerDefinitions[0].Links.Clear();
        request.ContainerDefinitions[0].Hostname = "";
    }

    private static void NoNetwork(RegisterTaskDefinitionRequest request)
    {
        WithoutBridgeOnlySettings(request);
        request.NetworkMode = "none";
        request.ContainerDefinitions[0].PortMappings.Clear();
        request.ContainerDefinitions[0].ExtraHosts.Clear();
        request.ContainerDefinitions[0].DnsServers.Clear();
        request.ContainerDefinitions[0].DnsSearchDomains.Clear();
    }

    private static IEnumerable<TestCaseData> Refusals()
    {
        var c = FullDefinition.Refused;
        yield return c("unknown mode", r => r.NetworkMode = "nat", "networkMode: must be \"bridge\", \"host\", \"none\" or \"awsvpc\", not \"nat\"");
        yield return c("mode in capitals", r => r.NetworkMode = "HOST", "networkMode: must be \"bridge\", \"host\", \"none\" or \"awsvpc\", not \"HOST\"");
        yield return c("links in host mode", r => { WithoutBridgeOnlySettings(r); r.NetworkMode = "host"; r.ContainerDefinitions[0].Links.Add("db"); }, "containerDefinitions[0].links: are for networkMode \"bridge\" only, not \"host\"");
        yield return c("links in awsvpc mode", r => r.NetworkMode = "awsvpc", "containerDefinitions[0].links: are for networkMode \"bridge\" only, not \"awsvpc\"; in \"awsvpc\" the task's containers reach one another by container name");
        yield return c("hostname in host mode", r => { WithoutBridgeOnlySettings(r); r.NetworkMode = "host"; r.ContainerDefinitions[1].Hostname = "db"; }, "containerDefinitions[1].hostname: cannot be set in networkMode \"host\": the container has the node's host name");
        yield return c("host port other than the container port in host mode", r => { WithoutBridgeOnlySettings(r); r.NetworkMode = "host"; r.ContainerDefinitions[0].PortMappings[0].HostPort = 80; }, "containerDefinitions[0].portMappings[0].hostPort: in networkMode \"host\" the host port is the container port, 8080 (or 0 for the same), not 80");
        yield return c("one port in two containers in host mode", r => { WithoutBridgeOnlySettings(r); r.NetworkMode = "host"; r.ContainerDefinitions[1].PortMappings.Add(new PortMapping { ContainerPort = 8080 }); }, "containerDefinitions[1].portMappings[0].hostPort: host port 8080/tcp is already used by containerDefinitions[0].portMappings[0]");
        yield return c("ports in none mode", r => { NoNetwork(r); r.ContainerDefinitions[1].PortMappings.Add(new PortMapping { ContainerPort = 5432 }); }, "containerDefinitions[1].portMappings: networkMode \"none\" has no network to publish ports on");
        yield return c("links in none mode", r => { NoNetwork(r); r.ContainerDefinitions[2].Links.Add("db"); }, "containerDefinitions[2].links: are for networkMode \"bridge\" only, not \"none\"");
        yield return c("DNS servers in none mode", r => { NoNetwork(r); r.ContainerDefinitions[1].DnsServers.Add("10.0.0.2"); }, "containerDefinitions[1].dnsServers: networkMode \"none\" has no network, so there is no name to resolve");
        yield return c("search domains in none mode", r => { NoNetwork(r); r.ContainerDefinitions[1].DnsSearchDomains.Add("corp.example.com"); }, "containerDefinitions[1].dnsSearchDomains: networkMode \"none\" has no network, so there is no name to resolve");
        yield return c("extra hosts in none mode", r => { NoNetwork(r); r.ContainerDefinitions[1].ExtraHosts.Add(new HostEntry { Hostname = "a", IpAddress = "10.0.0.1" }); }, "containerDefinitions[1].extraHosts: networkMode \"none\" has no network, so there is no name to resolve");

        yield return c("hostname with an underscore", r => r.ContainerDefinitions[0].Hostname = "shop_app", $"containerDefinitions[0].hostname: \"shop_app\" is not a host name: {HostnameRule}, at most 64 in all");
        yield return c("hostname starting with a hyphen", r => r.ContainerDefinitions[0].Hostname = "-app", $"containerDefinitions[0].hostname: \"-app\" is not a host name: {HostnameRule}, at most 64 in all");
        yield return c("hostname with an empty label", r => r.ContainerDefinitions[0].Hostname = "app..local", $"containerDefinitions[0].hostname: \"app..local\" is not a host name: {HostnameRule}, at most 64 in all");
        yield return c("hostname label of 64", r => r.ContainerDefinitions[0].Hostname = new string('h', 64), $"containerDefinitions[0].hostname: \"{new string('h', 64)}\" is not a host name: {HostnameRule}, at most 64 in all");
        yield return c("hostname longer than the kernel takes", r => r.ContainerDefinitions[0].Hostname = new string('h', 30) + "." + new string('h', 34), $"containerDefinitions[0].hostname: \"{new string('h', 30)}.{new string('h', 30)}...\" is not a host name: {HostnameRule}, at most 64 in all");
        yield return c("extra host with a bad name", r => r.ContainerDefinitions[0].ExtraHosts[0].Hostname = "metrics internal", $"containerDefinitions[0].extraHosts[0].hostname: \"metrics internal\" is not a host name: {HostnameRule}, at most 253 in all");
        yield return c("extra host without a name", r => r.ContainerDefinitions[0].ExtraHosts[0].Hostname = "", $"containerDefinitions[0].extraHosts[0].hostname: \"\" is not a host name: {HostnameRule}, at most 253 in all");
        yield return c("extra host name too long", r => r.ContainerDefinitions[0].ExtraHosts[0].Hostname = string.Join('.', Enumerable.Repeat(new string('x', 63), 4)), $"containerDefinitions[0].extraHosts[0].hostname: \"{new string('x', 61)}...\" is not a host name: {HostnameRule}, at most 253 in all");
        yield return c("extra host with a name for an address", r => r.ContainerDefinitions[0].ExtraHosts[0].IpAddress = "localhost", "containerDefinitions[0].extraHosts[0].ipAddress: \"localhost\" is not an IPv4 or IPv6 address");
        yield return c("extra host with a short IPv4", r => r.ContainerDefinitions[0].ExtraHosts[0].IpAddress = "127.1", "containerDefinitions[0].extraHosts[0].ipAddress: \"127.1\" is not an IPv4 or IPv6 address");
        yield return c("extra host with an octet past 255", r => r.ContainerDefinitions[0].ExtraHosts[0].IpAddress = "10.0.0.256", "containerDefinitions[0].extraHosts[0].ipAddress: \"10.0.0.256\" is not an IPv4 or IPv6 address");
        yield return c("extra host with a leading zero", r => r.ContainerDefinitions[0].ExtraHosts[0].IpAddress = "10.0.0.010", "containerDefinitions[0].extraHosts[0].ipAddress: \"10.0.0.010\" is not an IPv4 or IPv6 address");
        yield return c("extra host with an IPv6 zone", r => r.ContainerDefinitions[0].ExtraHosts[1].IpAddress = "fe80::1%eth0", "containerDefinitions[0].extraHosts[1].ipAddress: \"fe80::1%eth0\" is not an IPv4 or IPv6 address");
        yield return c("extra host with a bracketed IPv6", r => r.ContainerDefinitions[0].ExtraHosts[1].IpAddress = "[::1]", "containerDefinitions[0].extraHosts[1].ipAddress: \"[::1]\" is not an IPv4 or IPv6 address");
        yield return c("extra host with a broken IPv6", r => r.ContainerDefinitions[0].ExtraHosts[1].IpAddress = "fd00:::5", "containerDefinitions[0].extraHosts[1].ipAddress: \"fd00:::5\" is not an IPv4 or IPv6 address");
        yield return c("too many extra hosts", r => r.ContainerDefinitions[1].ExtraHosts.AddRange(Enumerable.Range(0, 101).Select(i => new HostEntry { Hostname = $"h{i}", IpAddress = "10.0.0.1" })), "containerDefinitions[1].extraHosts: at most 100 allowed, got 101");
        yield return c("DNS server by name", r => r.ContainerDefinitions[0].DnsServers[0] = "dns.local", "containerDefinitions[0].dnsServers[0]: \"dns.local\" is not an IPv4 or IPv6 address");
        yield return c("a fourth DNS server", r => r.ContainerDefinitions[0].DnsServers.AddRange(["10.0.0.3", "10.0.0.4"]), "containerDefinitions[0].dnsServers: at most 3 allowed, got 4");
        yield return c("search domain with a trailing space", r => r.ContainerDefinitions[0].DnsSearchDomains[0] = "corp.example.com ", $"containerDefinitions[0].dnsSearchDomains[0]: \"corp.example.com \" is not a domain name: {HostnameRule}, at most 253 in all");
        yield return c("a seventh search domain", r => r.ContainerDefinitions[0].DnsSearchDomains.AddRange(Enumerable.Range(0, 6).Select(i => $"d{i}.example")), "containerDefinitions[0].dnsSearchDomains: at most 6 allowed, got 7");
    }

    private static IEnumerable<TestCaseData> Acceptances()
    {
        var a = FullDefinition.Accepted;
        yield return a("the default mode", r => r.NetworkMode = "");
        yield return a("awsvpc without links", r => { r.NetworkMode = "awsvpc"; r.ContainerDefinitions[0].Links.Clear(); });
        yield return a("host mode with the container port repeated", r => { WithoutBridgeOnlySettings(r); r.NetworkMode = "host"; r.ContainerDefinitions[0].PortMappings[0].HostPort = 8080; });
        yield return a("host mode with one port for TCP and UDP", r => { WithoutBridgeOnlySettings(r); r.NetworkMode = "host"; r.ContainerDefinitions[1].PortMappings.Add(new PortMapping { ContainerPort = 8080, Protocol = TransportProtocol.Udp }); });
        yield return a("none mode with a hostname", r => { NoNetwork(r); r.ContainerDefinitions[1].Hostname = "db"; });
        yield return a("a hostname of 64 characters in labels", r => r.ContainerDefinitions[0].Hostname = new string('h', 62) + ".x");
        yield return a("a numeric hostname label", r => r.ContainerDefinitions[0].Hostname = "shop.1a.example");
        yield return a("an IPv4-mapped IPv6 address", r => r.ContainerDefinitions[0].ExtraHosts[1].IpAddress = "::ffff:10.0.0.5");
        yield return a("the IPv6 loopback", r => r.ContainerDefinitions[0].DnsServers[1] = "::1");
    }

    [TestCaseSource(nameof(Refusals))]
    public string Bad_network_setting_is_refused_naming_the_field(RegisterTaskDefinitionRequest request) => FullDefinition.RefusalOf(request);

    [TestCaseSource(nameof(Acceptances))]
    public void Good_network_setting_is_accepted(RegisterTaskDefinitionRequest request) =>
        Assert.That(() => TaskDefinitionValidator.Validate(request), Throws.Nothing);

    [TestCase("host", 0, 8080, TestName = "In host mode hostPort 0 is the container port, a static port")]
    [TestCase("host", 8080, 8080, TestName = "In host mode hostPort may repeat the container port")]
    [TestCase("bridge", 0, 0, TestName = "In bridge mode hostPort 0 asks for a dynamic port")]
    [TestCase("", 9090, 9090, TestName = "In the default mode a hostPort is a static port")]
    [TestCase("awsvpc", 0, 0, TestName = "In awsvpc mode hostPort 0 asks for a dynamic port")]
    public void The_demand_has_the_node_port_the_mode_gives(string mode, int hostPort, int demanded)
    {
        var request = FullDefinition.Request();
        WithoutBridgeOnlySettings(request);
        request.NetworkMode = mode;
        request.ContainerDefinitions[0].PortMappings[0].HostPort = hostPort;
        var (spec, demand) = TaskDefinitionValidator.Validate(request);
        Assert.Multiple(() =>
        {
            Assert.That(demand.Ports.Single().HostPort, Is.EqualTo(demanded));
            Assert.That(demand.DynamicPortCount, Is.EqualTo(demanded == 0 ? 1 : 0));
            Assert.That(spec.ContainerDefinitions[0].PortMappings[0].HostPort, Is.EqualTo(hostPort), "the definition keeps what was given");
            Assert.That(spec.NetworkMode, Is.EqualTo(mode), "the definition keeps what was given");
        });
    }
}
