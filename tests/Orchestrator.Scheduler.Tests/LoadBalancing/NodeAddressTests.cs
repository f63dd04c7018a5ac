using Orchestrator.Scheduler.LoadBalancing;

namespace Orchestrator.Scheduler.Tests.LoadBalancing;

internal sealed class NodeAddressTests
{
    [TestCase("ipv4:127.0.0.1:5678", ExpectedResult = "127.0.0.1")]
    [TestCase("ipv4:10.1.2.3:1", ExpectedResult = "10.1.2.3")]
    [TestCase("ipv6:[::1]:5678", ExpectedResult = "::1")]
    [TestCase("ipv6:[::ffff:10.1.2.3]:5678", ExpectedResult = "10.1.2.3")]
    [TestCase("ipv6:[fe80::1]:80", ExpectedResult = "fe80::1")]
    [TestCase("unix:/run/x.sock", ExpectedResult = "")]
    [TestCase("ipv4:not-an-ip:1", ExpectedResult = "")]
    [TestCase("", ExpectedResult = "")]
    public string The_peer_ip_is_read_from_grpcs_peer_string(string peer) => NodeAddress.HostOfPeer(peer);

    [TestCase("", ExpectedResult = "10.0.0.9")]
    [TestCase("node-1.internal", ExpectedResult = "node-1.internal")]
    public string The_advertised_address_wins_over_the_peer(string advertised) =>
        NodeAddress.Of(advertised.Length == 0 ? new Dictionary<string, string>() : new Dictionary<string, string> { ["host-address"] = advertised }, "10.0.0.9");

    [TestCase("", ExpectedResult = false)]
    [TestCase("0.0.0.0", ExpectedResult = false)]
    [TestCase("::", ExpectedResult = false)]
    [TestCase("127.0.0.1", ExpectedResult = true)]
    [TestCase("::1", ExpectedResult = true)]
    public bool A_specific_bind_address_names_one_interface(string bindIp) => NodeAddress.IsSpecific(bindIp);
}
