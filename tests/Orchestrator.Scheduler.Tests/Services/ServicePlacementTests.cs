using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Constraints;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.Services;

/// <summary>A service's placement settings are parsed once per change of them, not on every pass.</summary>
internal sealed class ServicePlacementTests
{
    private sealed record Facts(string Name, IReadOnlyDictionary<string, string> Attributes) : INodeFacts;

    private static ServiceRecord Service(IReadOnlyList<ConstraintSpec> constraints) => new()
    {
        Cluster = "default",
        Name = "web",
        DesiredCount = 1,
        Strategies = [new StrategySpec("spread", "attribute:zone")],
        Constraints = constraints,
        Deployments = [],
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    [Test]
    public void A_pass_reads_the_settings_parsed_once_and_a_copy_that_keeps_them_shares_them()
    {
        var service = Service([new ConstraintSpec("memberOf", "attribute:zone == a"), new ConstraintSpec("distinctInstance", "")]);
        var first = ServicePlacement.ConstraintsOf(service);
        var again = ServicePlacement.ConstraintsOf(service with { DesiredCount = 5 });
        var changed = ServicePlacement.ConstraintsOf(service with { Constraints = [new ConstraintSpec("distinctInstance", "")] });
        Assert.Multiple(() =>
        {
            Assert.That(again, Is.SameAs(first), "the same lists: not parsed again");
            Assert.That(ServicePlacement.StrategiesOf(service with { DesiredCount = 5 }), Is.SameAs(ServicePlacement.StrategiesOf(service)));
            Assert.That(first.Select(c => c.ToString()), Is.EqualTo(new[] { "memberOf(attribute:zone == a)", "distinctInstance" }));
            Assert.That(changed.Select(c => c.ToString()), Is.EqualTo(new[] { "distinctInstance" }), "new settings are parsed");
        });
    }

    [TestCase("node-1", true)]
    [TestCase("node-10", false)]
    [TestCase("other", false)]
    public void The_daemon_pin_matches_exactly_what_the_parsed_expression_matches(string name, bool matches)
    {
        var node = new Facts(name, new Dictionary<string, string>());
        var pin = ServicePlacement.OnNode("node-1");
        var parsed = ConstraintParser.Parse(pin.Text);
        Assert.That((pin.Expression.Matches(node), parsed.Matches(node)), Is.EqualTo((matches, matches)));
    }
}
