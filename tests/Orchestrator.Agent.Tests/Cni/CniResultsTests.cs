using System.Text.Json.Nodes;
using Orchestrator.Agent.Runtime.Containerd.Cni;

namespace Orchestrator.Agent.Tests.Cni;

internal sealed class CniResultsTests
{
    // What Debian's bridge plugin printed here (spec 1.0.0).
    private const string BridgeResult = """
        {"cniVersion":"1.0.0",
         "interfaces":[{"name":"orch-test0","mac":"ee:a5:d7:f2:a0:b6"},{"name":"veth85189181","mac":"2e:b2:14:96:30:3a"},{"name":"eth0","mac":"b2:e1:00:ea:e0:45","sandbox":"/run/netns/orch-ttt"}],
         "ips":[{"interface":2,"address":"10.199.0.2/24","gateway":"10.199.0.1"}],
         "routes":[{"dst":"0.0.0.0/0"}],"dns":{}}
        """;

    [TestCase(BridgeResult, "10.199.0.2")]
    [TestCase("""{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"version":"4","interface":0,"address":"10.88.3.4/16","gateway":"10.88.0.1"}]}""", "10.88.3.4")]
    [TestCase("""{"ips":[{"interface":0,"address":"fd00::2/64"},{"interface":1,"address":"10.1.0.9/24"}],"interfaces":[{"name":"br"},{"name":"eth0","sandbox":"/x"}]}""", "10.1.0.9")]
    [TestCase("""{"ips":[{"interface":0,"address":"10.1.0.1/24"},{"interface":1,"address":"10.1.0.9/24"}],"interfaces":[{"name":"br"},{"name":"eth0","sandbox":"/x"}]}""", "10.1.0.9")]
    [TestCase("""{"ips":[{"address":"10.1.0.5/24"}]}""", "10.1.0.5")]
    [TestCase("""{"cniVersion":"1.0.0","interfaces":[{"name":"lo","sandbox":"/x"}],"dns":{}}""", null)]
    public void The_container_address_is_the_sandbox_interface_s(string result, string? address) =>
        Assert.That(CniResults.ContainerAddress(JsonNode.Parse(result) as JsonObject)?.ToString(), Is.EqualTo(address));

    [Test]
    public void No_result_no_address() => Assert.That(CniResults.ContainerAddress(null), Is.Null);

    [TestCase("""{"code":999,"msg":"failed to open netns","details":"no such file"}""", "", 1, "failed to open netns: no such file")]
    [TestCase("""{"code":7,"msg":"invalid config"}""", "ignored", 1, "invalid config")]
    [TestCase("panic: boom", "stack trace here\n", 2, "stack trace here")]
    [TestCase("", "", 137, "exited with code 137")]
    [TestCase("not json", "", 1, "not json")]
    public void A_plugin_error_is_its_msg(string stdout, string stderr, int exitCode, string message) =>
        Assert.That(CniResults.ErrorMessage(stdout, stderr, exitCode), Is.EqualTo(message));

    [TestCase("""{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}""", new[] { "0.4.0", "1.0.0" })]
    [TestCase("garbage", new string[0])]
    [TestCase("{}", new string[0])]
    public void Supported_versions_are_read(string stdout, string[] versions) =>
        Assert.That(CniResults.SupportedVersions(stdout), Is.EqualTo(versions));
}
