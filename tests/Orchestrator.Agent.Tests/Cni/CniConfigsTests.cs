using System.Text.Json.Nodes;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd.Cni;

namespace Orchestrator.Agent.Tests.Cni;

internal sealed class CniConfigsTests
{
    [TestCase(new[] { "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0" }, "1.0.0")]
    [TestCase(new[] { "0.3.1", "0.4.0" }, "0.4.0")]
    [TestCase(new[] { "0.3.0", "0.3.1" }, null)]
    [TestCase(new string[0], null)]
    public void The_newest_version_both_speak_is_chosen(string[] plugin, string? chosen) =>
        Assert.That(CniConfigs.ChooseVersion(plugin), Is.EqualTo(chosen));

    [Test]
    public void Bridge_mode_is_bridge_portmap_firewall_as_nerdctl_has_it()
    {
        var chain = CniConfigs.BridgeChain("1.0.0", "orch-cni0", "10.88.0.0/16", "/var/lib/agent/cni/ipam", [new PortSpec(80, 8080, false, "")]);

        Assert.That(chain.Select(c => c["type"]!.GetValue<string>()), Is.EqualTo(new[] { "bridge", "portmap", "firewall" }));
        Assert.That(chain.Select(c => c["name"]!.GetValue<string>()).Distinct(), Is.EqualTo(new[] { "orch-cni0" }));
        Assert.That(chain.Select(c => c["cniVersion"]!.GetValue<string>()).Distinct(), Is.EqualTo(new[] { "1.0.0" }));
        Assert.That(JsonNode.DeepEquals(chain[0], JsonNode.Parse("""
            {"cniVersion":"1.0.0","name":"orch-cni0","type":"bridge","bridge":"orch-cni0","isGateway":true,"ipMasq":true,"hairpinMode":true,
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"/var/lib/agent/cni/ipam"}}
            """)), chain[0].ToJsonString());
        Assert.That(chain[1]["capabilities"]!["portMappings"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public void Without_ports_there_is_no_portmap() =>
        Assert.That(CniConfigs.BridgeChain("0.4.0", "b", "10.0.0.0/24", "/d", []).Select(c => c["type"]!.GetValue<string>()), Is.EqualTo(new[] { "bridge", "firewall" }));

    [TestCase(80, 8080, false, "", """{"hostPort":8080,"containerPort":80,"protocol":"tcp"}""")]
    [TestCase(53, 5353, true, "127.0.0.1", """{"hostPort":5353,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}""")]
    [TestCase(80, 80, false, "0.0.0.0", """{"hostPort":80,"containerPort":80,"protocol":"tcp"}""")]
    [TestCase(80, 80, false, "::", """{"hostPort":80,"containerPort":80,"protocol":"tcp"}""")]
    [TestCase(80, 81, false, "192.0.2.7", """{"hostPort":81,"containerPort":80,"protocol":"tcp","hostIP":"192.0.2.7"}""")]
    public void Ports_become_portmap_runtime_config(int containerPort, int hostPort, bool udp, string hostIp, string expected)
    {
        var mapping = CniConfigs.PortMappings([new PortSpec(containerPort, hostPort, udp, hostIp)]).Single();
        Assert.That(JsonNode.DeepEquals(mapping, JsonNode.Parse(expected)), mapping!.ToJsonString());
    }

    [Test]
    public void Prev_result_is_added_to_a_copy()
    {
        var config = CniConfigs.Loopback("1.0.0");
        var result = new JsonObject { ["cniVersion"] = "1.0.0", ["ips"] = new JsonArray() };

        var withResult = CniConfigs.WithPrevResult(config, result);
        var withoutResult = CniConfigs.WithPrevResult(config, null);

        Assert.Multiple(() =>
        {
            Assert.That(JsonNode.DeepEquals(withResult["prevResult"], result));
            Assert.That(withoutResult.ContainsKey("prevResult"), Is.False);
            Assert.That(config.ContainsKey("prevResult"), Is.False, "the stored configuration is left as it was");
        });
    }
}
