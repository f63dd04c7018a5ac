namespace Orchestrator.Agent.Tests;

internal sealed class AdvertiseAddressTests
{
    [TestCase("", "")]
    [TestCase(" 10.0.0.5 ", "10.0.0.5")]
    [TestCase("::1", "::1")]
    [TestCase("node-1.example.internal", "node-1.example.internal")]
    public void An_ip_or_a_host_name_is_taken(string given, string expected) =>
        Assert.That(new AgentOptions { AdvertiseAddress = given }.ParseAdvertiseAddress(), Is.EqualTo(expected));

    [TestCase("10.0.0.5:80")]
    [TestCase("http://node-1")]
    [TestCase("node 1")]
    [TestCase("node_1!")]
    public void Anything_else_is_refused_naming_the_setting(string given)
    {
        var e = Assert.Throws<FormatException>(() => new AgentOptions { AdvertiseAddress = given }.ParseAdvertiseAddress());
        Assert.That(e!.Message, Does.StartWith("Agent:AdvertiseAddress must be an IP address or a host name"));
    }
}
