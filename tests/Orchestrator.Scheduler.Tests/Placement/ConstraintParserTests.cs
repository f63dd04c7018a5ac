using Orchestrator.Scheduler.Placement.Constraints;

namespace Orchestrator.Scheduler.Tests.Placement;

internal sealed class ConstraintParserTests
{
    private sealed record FakeNode(string Name, IReadOnlyDictionary<string, string> Attributes) : INodeFacts;

    private static readonly FakeNode ZoneA = new("node-1", new Dictionary<string, string> { ["zone"] = "a", ["disk"] = "ssd", ["os.type"] = "linux" });
    private static readonly FakeNode ZoneB = new("node-2", new Dictionary<string, string> { ["zone"] = "b" });
    private static readonly FakeNode Bare = new("node-3", new Dictionary<string, string>());

    [TestCase("attribute:zone == a", true, false, false)]
    [TestCase("attribute:zone != a", false, true, true)]
    [TestCase("attribute:zone in [a, b]", true, true, false)]
    [TestCase("attribute:zone not in [a, b]", false, false, true)]
    [TestCase("attribute:disk exists", true, false, false)]
    [TestCase("!attribute:disk exists", false, true, true)]
    [TestCase("not attribute:disk exists", false, true, true)]
    [TestCase("attribute:zone == a && attribute:disk == ssd", true, false, false)]
    [TestCase("attribute:zone == a and attribute:disk == hdd", false, false, false)]
    [TestCase("attribute:zone == b || name == node-3", false, true, true)]
    [TestCase("attribute:zone == b or name == node-3", false, true, true)]
    [TestCase("!(attribute:zone == a || attribute:zone == b)", false, false, true)]
    [TestCase("attribute:zone == a || attribute:zone == b && name == node-9", true, false, false)]
    [TestCase("(attribute:zone == a || attribute:zone == b) && name == node-2", false, true, false)]
    [TestCase("attribute:os.type == \"linux\"", true, false, false)]
    [TestCase("name in ['node-1', 'node-3']", true, false, true)]
    [TestCase("  attribute:zone==a  ", true, false, false)]
    public void Expression_matches_nodes(string expression, bool zoneA, bool zoneB, bool bare)
    {
        var parsed = ConstraintParser.Parse(expression);
        Assert.That(new[] { parsed.Matches(ZoneA), parsed.Matches(ZoneB), parsed.Matches(Bare) }, Is.EqualTo(new[] { zoneA, zoneB, bare }));
    }

    [TestCase("", "expression is empty", 1)]
    [TestCase("attribute:zone", "expected '==', '!=', 'in', 'not in' or 'exists' but found end of expression", 15)]
    [TestCase("attribute:zone ==", "expected a value after '==' but found end of expression", 18)]
    [TestCase("attribute:zone == a &&", "expected 'attribute:NAME', 'name', '!' or '(' but found end of expression", 23)]
    [TestCase("zone == a", "expected 'attribute:NAME', 'name', '!' or '(' but found 'zone'", 1)]
    [TestCase("attribute: == a", "expected an attribute name after 'attribute:'", 11)]
    [TestCase("(attribute:zone == a", "expected ')' but found end of expression", 21)]
    [TestCase("attribute:zone == a)", "unexpected ')'", 20)]
    [TestCase("attribute:zone in a", "expected '[' but found 'a'", 19)]
    [TestCase("attribute:zone in [a b]", "expected ',' or ']' but found 'b'", 22)]
    [TestCase("attribute:zone in []", "expected a value after '[' but found ']'", 20)]
    [TestCase("attribute:zone = a", "unexpected character '='", 16)]
    [TestCase("attribute:zone == 'a", "unterminated quoted value", 19)]
    [TestCase("attribute:zone == a & b", "unexpected character '&'", 21)]
    [TestCase("attribute:zone == a b", "unexpected 'b'", 21)]
    public void Malformed_expression_says_what_and_where(string expression, string problem, int position)
    {
        var error = Assert.Throws<ConstraintSyntaxException>(() => ConstraintParser.Parse(expression))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Problem, Is.EqualTo(problem));
            Assert.That(error.Position, Is.EqualTo(position));
            Assert.That(error.Message, Is.EqualTo($"{problem} at position {position}"));
        });
    }

    [Test]
    public void Deep_nesting_and_huge_input_are_refused_not_crashed_on()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => ConstraintParser.Parse(new string('(', 500) + "name == a" + new string(')', 500)),
                Throws.TypeOf<ConstraintSyntaxException>().With.Property(nameof(ConstraintSyntaxException.Problem)).Contains("nests deeper"));
            Assert.That(() => ConstraintParser.Parse(new string('!', 500) + "name == a"),
                Throws.TypeOf<ConstraintSyntaxException>().With.Property(nameof(ConstraintSyntaxException.Problem)).Contains("nests deeper"));
            Assert.That(() => ConstraintParser.Parse("name == " + new string('a', 5000)),
                Throws.TypeOf<ConstraintSyntaxException>().With.Property(nameof(ConstraintSyntaxException.Problem)).Contains("longer than"));
        });
    }
}
