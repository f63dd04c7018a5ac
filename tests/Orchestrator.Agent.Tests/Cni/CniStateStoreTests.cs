using System.Text.Json.Nodes;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd.Cni;

namespace Orchestrator.Agent.Tests.Cni;

internal sealed class CniStateStoreTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Path.Combine(Directory.CreateTempSubdirectory("orchestrator-cni-").FullName, "cni");

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(Path.GetDirectoryName(_directory)!, recursive: true);

    [Test]
    public void A_state_comes_back_as_it_was_saved()
    {
        var store = new CniStateStore(_directory);
        var result = JsonNode.Parse("""{"cniVersion":"1.0.0","ips":[{"address":"10.1.0.2/24"}]}""")!.AsObject();
        var state = new CniState("web-1", "bridge", "orch-web-1", "/run/netns/orch-web-1", [new PortSpec(80, 8080, false, "127.0.0.1")],
            [new CniAttachment([CniConfigs.Loopback("1.0.0")], 1, null), new CniAttachment(CniConfigs.BridgeChain("1.0.0", "b", "10.1.0.0/24", "/d", []), 2, result)]);

        store.Save(state);
        var loaded = new CniStateStore(_directory).Load("web-1")!;

        Assert.Multiple(() =>
        {
            Assert.That(loaded with { Attachments = [] }, Is.EqualTo(state with { Attachments = [] }).Using<CniState>((a, b) =>
                a.ContainerId == b.ContainerId && a.Mode == b.Mode && a.NetworkNamespacePath == b.NetworkNamespacePath && a.Ports.SequenceEqual(b.Ports)));
            Assert.That(loaded.Attachments.Select(a => a.Added), Is.EqualTo(new[] { 1, 2 }));
            Assert.That(JsonNode.DeepEquals(loaded.Attachments[1].Result, result));
            Assert.That(JsonNode.DeepEquals(loaded.Attachments[1].Plugins[0], state.Attachments[1].Plugins[0]));
            Assert.That(loaded.Attachments[0].Result, Is.Null);
        });
    }

    [Test]
    public void States_are_listed_and_deleted()
    {
        var store = new CniStateStore(_directory);
        Assert.That(store.List(), Is.Empty, "no directory yet");
        store.Save(new CniState("b", "none", "orch-b", "/run/netns/orch-b", [], []));
        store.Save(new CniState("a", "none", "orch-a", "/run/netns/orch-a", [], []));
        File.WriteAllText(Path.Combine(_directory, "broken.json"), "{");

        Assert.That(store.List(), Is.EqualTo(new[] { "a", "b", "broken" }));
        Assert.That(store.LoadAll(except: "a").Select(s => s.ContainerId), Is.EqualTo(new[] { "b" }), "what cannot be read is skipped");

        store.Delete("a");
        Assert.That(store.Load("a"), Is.Null);
    }

    [TestCase("../etc/passwd")]
    [TestCase("")]
    [TestCase(".hidden")]
    [TestCase("a/b")]
    public void What_is_not_a_container_id_is_refused(string id) =>
        Assert.That(() => new CniStateStore(_directory).Load(id), Throws.ArgumentException);

    [TestCase("web-1", "orch-web-1")]
    public void Namespaces_are_named_after_the_container(string id, string name) =>
        Assert.That(NetworkNamespaces.NameFor(id), Is.EqualTo(name));

    [Test]
    public void A_long_id_gives_a_short_namespace_name() =>
        Assert.That(NetworkNamespaces.NameFor(new string('a', 300)), Has.Length.EqualTo(37).And.StartWith("orch-"));
}
