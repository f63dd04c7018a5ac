using System.Net;
using System.Net.Sockets;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd.Cni;

namespace Orchestrator.Agent.Tests.Cni;

internal sealed class HostPortsTests
{
    [TestCase(8080, false, "", 8080, false, "", true)]
    [TestCase(8080, false, "", 8080, true, "", false)]
    [TestCase(8080, false, "", 8081, false, "", false)]
    [TestCase(8080, false, "127.0.0.1", 8080, false, "", true)]
    [TestCase(8080, false, "0.0.0.0", 8080, false, "127.0.0.1", true)]
    [TestCase(8080, false, "127.0.0.1", 8080, false, "127.0.0.2", false)]
    [TestCase(8080, true, "127.0.0.1", 8080, true, "127.0.0.1", true)]
    public void Ports_clash_on_the_same_port_protocol_and_overlapping_address(int portA, bool udpA, string ipA, int portB, bool udpB, string ipB, bool clash) =>
        Assert.That(HostPorts.Clash(new PortSpec(80, portA, udpA, ipA), new PortSpec(81, portB, udpB, ipB)), Is.EqualTo(clash));

    [Test]
    public void A_conflict_is_found_among_the_requested_and_with_the_published()
    {
        var published = new[] { new PortSpec(80, 9000, false, "127.0.0.1") };
        Assert.Multiple(() =>
        {
            Assert.That(HostPorts.FindConflict([new PortSpec(80, 9001, false, ""), new PortSpec(81, 9001, false, "127.0.0.1")], []), Is.EqualTo(new PortSpec(81, 9001, false, "127.0.0.1")));
            Assert.That(HostPorts.FindConflict([new PortSpec(80, 9000, false, "")], published), Is.EqualTo(new PortSpec(80, 9000, false, "")));
            Assert.That(HostPorts.FindConflict([new PortSpec(80, 9000, true, ""), new PortSpec(80, 0, false, ""), new PortSpec(81, 0, false, "")], published), Is.Null);
        });
    }

    [TestCase("", 8080, false, "host port 8080/tcp is already in use on 0.0.0.0")]
    [TestCase("127.0.0.1", 53, true, "host port 53/udp is already in use on 127.0.0.1")]
    public void The_refusal_names_port_protocol_and_address(string hostIp, int port, bool udp, string text) =>
        Assert.That(HostPorts.Describe(new PortSpec(80, port, udp, hostIp)), Is.EqualTo(text));

    [Test]
    public void A_bound_port_is_not_free_and_a_released_one_is()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Assert.Multiple(() =>
        {
            Assert.That(HostPorts.IsFree(new PortSpec(80, port, false, "127.0.0.1")), Is.False);
            Assert.That(HostPorts.IsFree(new PortSpec(80, port, false, "")), Is.False, "every address includes 127.0.0.1");
        });
        listener.Stop();
        Assert.That(HostPorts.IsFree(new PortSpec(80, port, false, "127.0.0.1")), Is.True);
    }
}
