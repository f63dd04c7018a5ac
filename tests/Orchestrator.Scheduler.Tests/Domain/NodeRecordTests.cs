using Orchestrator.Scheduler.Domain;

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
}
