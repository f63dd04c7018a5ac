namespace Orchestrator.Scheduler.Placement.Constraints;

/// <summary>What a memberOf expression can look at on a node: its name and its attributes.</summary>
internal interface INodeFacts
{
    string Name { get; }
    IReadOnlyDictionary<string, string> Attributes { get; }
}

/// <summary>A parsed memberOf expression. Immutable; evaluate it against any number of nodes.</summary>
internal abstract record ConstraintExpression
{
    public abstract bool Matches(INodeFacts node);
}

internal sealed record AndExpression(ConstraintExpression Left, ConstraintExpression Right) : ConstraintExpression
{
    public override bool Matches(INodeFacts node) => Left.Matches(node) && Right.Matches(node);
}

internal sealed record OrExpression(ConstraintExpression Left, ConstraintExpression Right) : ConstraintExpression
{
    public override bool Matches(INodeFacts node) => Left.Matches(node) || Right.Matches(node);
}

internal sealed record NotExpression(ConstraintExpression Inner) : ConstraintExpression
{
    public override bool Matches(INodeFacts node) => !Inner.Matches(node);
}

/// <summary>The thing a comparison reads: the node's name, or one of its attributes.</summary>
internal sealed record Subject(string? AttributeName)
{
    public static readonly Subject NodeName = new((string?)null);

    public string? ValueOf(INodeFacts node) =>
        AttributeName is null ? node.Name : node.Attributes.GetValueOrDefault(AttributeName);
}

internal sealed record ExistsExpression(Subject Subject) : ConstraintExpression
{
    public override bool Matches(INodeFacts node) => Subject.ValueOf(node) is not null;
}

/// <summary>
/// subject == v, subject != v, subject in [..], subject not in [..]. A node without the attribute
/// never equals anything and is never in a list, so "!=" and "not in" match it.
/// </summary>
internal sealed record ComparisonExpression(Subject Subject, IReadOnlyList<string> Values, bool Negated)
    : ConstraintExpression
{
    public override bool Matches(INodeFacts node)
    {
        var actual = Subject.ValueOf(node);
        var found = false;
        if (actual is not null)
        {
            foreach (var value in Values)
            {
                if (string.Equals(actual, value, StringComparison.Ordinal))
                {
                    found = true;
                    break;
                }
            }
        }

        return found != Negated;
    }
}
