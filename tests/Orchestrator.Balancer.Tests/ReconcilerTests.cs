using Orchestrator.Balancer.Haproxy;
using Orchestrator.Balancer.Reconcile;

namespace Orchestrator.Balancer.Tests;

public sealed class ReconcilerTests
{
    private const int Ready = 0x04;
    private const int Maint = 0x05;
    private const int Drain = 0x0c;

    private static ServerSlot Slot(int n, string addr = "127.0.0.1", int port = 1, int admin = Maint, int weight = 1) =>
        new("be_web", $"s{n}", addr, port, admin == Maint ? 0 : 2, admin, weight);

    private static DesiredTarget Target(int port, int weight = 100, bool draining = false, string id = "t") =>
        new($"{id}{port}", "10.0.0.1", port, weight, draining);

    private static DesiredGroup Web(params DesiredTarget[] targets) => new("web", true, 8080, HealthCheckSettings.Default, targets);

    private static readonly object[] Cases =
    [
        new object[] { "new target takes the first free slot, forced down before its weight",
            Web(Target(81)), new[] { Slot(1), Slot(2) },
            new[] { "set server be_web/s1 addr 10.0.0.1 port 81", "set weight be_web/s1 0", "set server be_web/s1 state ready", "set server be_web/s1 health down", "set weight be_web/s1 100" } },
        new object[] { "a target in place: nothing to do",
            Web(Target(81)), new[] { Slot(1, "10.0.0.1", 81, Ready, 100), Slot(2) }, Array.Empty<string>() },
        new object[] { "weight changed",
            Web(Target(81, 9)), new[] { Slot(1, "10.0.0.1", 81, Ready, 100) }, new[] { "set weight be_web/s1 9" } },
        new object[] { "drain",
            Web(Target(81, draining: true)), new[] { Slot(1, "10.0.0.1", 81, Ready, 100) }, new[] { "set server be_web/s1 state drain" } },
        new object[] { "draining again ready",
            Web(Target(81)), new[] { Slot(1, "10.0.0.1", 81, Drain, 100) }, new[] { "set server be_web/s1 state ready" } },
        new object[] { "a draining target with no slot is left out",
            Web(Target(81, draining: true)), new[] { Slot(1) }, Array.Empty<string>() },
        new object[] { "a target gone goes to maintenance",
            Web(), new[] { Slot(1, "10.0.0.1", 81, Ready, 100) }, new[] { "set server be_web/s1 state maint" } },
        new object[] { "a slot in maintenance with the target's address is only free",
            Web(Target(81)), new[] { Slot(1, "10.0.0.1", 81, Maint, 100) },
            new[] { "set server be_web/s1 addr 10.0.0.1 port 81", "set weight be_web/s1 0", "set server be_web/s1 state ready", "set server be_web/s1 health down", "set weight be_web/s1 100" } },
        new object[] { "duplicates: the second live slot goes to maintenance",
            Web(Target(81)), new[] { Slot(1, "10.0.0.1", 81, Ready, 100), Slot(2, "10.0.0.1", 81, Ready, 100) }, new[] { "set server be_web/s2 state maint" } },
        new object[] { "a slot freed in the same pass is reused",
            Web(Target(82)), new[] { Slot(1, "10.0.0.1", 81, Ready, 100) },
            new[] { "set server be_web/s1 state maint", "set server be_web/s1 addr 10.0.0.1 port 82", "set weight be_web/s1 0", "set server be_web/s1 state ready", "set server be_web/s1 health down", "set weight be_web/s1 100" } },
        new object[] { "one target twice in the assignment is one slot",
            Web(Target(81, 5, id: "a"), Target(81, 7, id: "b")), new[] { Slot(1, "10.0.0.1", 81, Ready, 7), Slot(2) }, Array.Empty<string>() },
    ];

    [TestCaseSource(nameof(Cases))]
    public void Plans(string why, object group, object slots, string[] commands)
    {
        var plan = Reconciler.Plan([(DesiredGroup)group], (ServerSlot[])slots);
        Assert.That(plan.Commands, Is.EqualTo(commands), why);
        Assert.That(plan.OutOfSlots, Is.Empty, why);
    }

    [Test]
    public void OutOfSlotsIsSaid()
    {
        var plan = Reconciler.Plan([Web(Target(81), Target(82))], [Slot(1)]);
        Assert.That(plan.OutOfSlots, Is.EquivalentTo(new[] { "web" }));
        Assert.That(plan.Commands, Has.Count.EqualTo(5));
    }

    [Test]
    public void ABackendNotLoadedIsLeftToTheReload() =>
        Assert.That(Reconciler.Plan([Web(Target(81))], []).Commands, Is.Empty);

    [Test]
    public void LayoutFirstTimeReloads()
    {
        var plan = LayoutPlanner.Plan([Web(Target(81))], null, [], new HashSet<string>());
        Assert.That(plan.ReloadReason, Is.Not.Null);
        Assert.That(plan.Layout.Single().Slots, Is.EqualTo(8));
    }

    [Test]
    public void LayoutUnchangedDoesNotReload()
    {
        var slots = Enumerable.Range(1, 8).Select(n => Slot(n)).ToArray();
        var loaded = LayoutPlanner.Plan([Web(Target(81))], null, slots, new HashSet<string>()).Layout;
        Assert.That(LayoutPlanner.Plan([Web(Target(81), Target(82))], loaded, slots, new HashSet<string>()).ReloadReason, Is.Null);
    }

    [TestCase("settings", "changed web")]
    [TestCase("added", "added api")]
    [TestCase("removed", "removed web")]
    [TestCase("slots", "changed web")]
    [TestCase("restarted", "another configuration")]
    public void LayoutChangesReload(string change, string reason)
    {
        var slots = Enumerable.Range(1, 8).Select(n => Slot(n)).ToArray();
        var loaded = LayoutPlanner.Plan([Web(Target(81))], null, slots, new HashSet<string>()).Layout;
        IReadOnlyList<DesiredGroup> now = change switch
        {
            "settings" => [Web(Target(81)) with { Port = 9090 }],
            "added" => [Web(Target(81)), new DesiredGroup("api", false, 81, HealthCheckSettings.Default, [])],
            "removed" => [],
            "slots" => [Web([.. Enumerable.Range(81, 9).Select(p => Target(p))])],
            _ => [Web(Target(81))],
        };
        var actual = change == "restarted" ? slots.Take(4).ToArray() : slots;
        var plan = LayoutPlanner.Plan(now, loaded, actual, new HashSet<string>());
        Assert.That(plan.ReloadReason, Does.Contain(reason));
        if (change == "slots")
        {
            Assert.That(plan.Layout.Single().Slots, Is.EqualTo(16));
        }
    }
}
