using System.Text.Json.Nodes;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.Domain;

internal sealed class NodeRecordTests
{
    private static NodeRecord Node(params (string Key, string Value)[] attributes) =>
        new("default", "n1", NodeState.Active, 1024, 2048, attributes.ToDictionary(a => a.Key, a => a.Value), "1.0", DateTimeOffset.UnixEpoch);

    [Test]
    public void A_re_registration_with_the_same_content_is_the_same_node()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Node(("zone", "a")).SameAs(Node(("zone", "a"))), Is.True, "equal dictionaries, different instances");
            Assert.That(Node(("zone", "a")).SameAs(Node(("zone", "b"))), Is.False);
            Assert.That(Node(("zone", "a")).SameAs(Node(("zone", "a"), ("disk", "ssd"))), Is.False);
            Assert.That(Node(("zone", "a")).SameAs(Node(("zone", "a")) with { TotalCpu = 2048 }), Is.False);
            Assert.That(Node().SameAs(null), Is.False);
        });
    }

    [Test]
    public void Its_policy_is_compared_by_content_and_stored()
    {
        var node = Node() with { Policy = new NodePolicy(true, ["/srv", "/data"]) };
        var stored = (NodeRecord)StoreTables.Nodes.Read(StoreTables.Nodes.Write(node), node.Key);
        var older = JsonNode.Parse(StoreTables.Nodes.Write(Node()))!.AsObject();
        older.Remove(nameof(NodeRecord.Policy));
        var fromOlder = (NodeRecord)StoreTables.Nodes.Read(older.ToJsonString(), node.Key);
        Assert.Multiple(() =>
        {
            Assert.That(node.SameAs(Node() with { Policy = new NodePolicy(true, ["/srv", "/data"]) }), Is.True, "equal lists, different instances");
            Assert.That(node.SameAs(Node()), Is.False);
            Assert.That(node.SameAs(Node() with { Policy = new NodePolicy(false, ["/srv", "/data"]) }), Is.False);
            Assert.That(node.SameAs(Node() with { Policy = new NodePolicy(true, ["/srv"]) }), Is.False);
            Assert.That(stored.Policy, Is.EqualTo(node.Policy));
            Assert.That(stored.SameAs(node), Is.True);
            Assert.That(fromOlder.Policy, Is.EqualTo(NodePolicy.None), "a node stored before policies allows nothing until its agent registers again");
        });
    }
}
