using System.Text.RegularExpressions;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>Custom node attributes as ECS's PutAttributes checks them.</summary>
internal static partial class AttributeValidator
{
    public const int MaxPerCall = 10;
    public const int MaxLength = 128;

    [GeneratedRegex(@"^[A-Za-z0-9_./\\-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_./\\@: -]+$")]
    private static partial Regex ValuePattern();

    /// <summary>Put or Delete: 1 to 10 attributes, each naming its node.</summary>
    public static IReadOnlyList<AttributeChange> Validate(IReadOnlyList<Contract.Attribute> attributes, bool withValues)
    {
        if (attributes.Count == 0)
        {
            throw RequestException.Invalid("attributes", "give at least one attribute");
        }

        Limits.Count(attributes, MaxPerCall, "attributes");
        var changes = new List<AttributeChange>(attributes.Count);
        for (var i = 0; i < attributes.Count; i++)
        {
            var field = $"attributes[{i}]";
            var attribute = attributes[i];
            TargetType(attribute.TargetType, $"{field}.targetType");
            var node = Names.Node(attribute.TargetId, $"{field}.targetId");
            var name = Name(attribute.Name, $"{field}.name");
            var value = withValues ? Value(attribute.Value, $"{field}.value") : "";
            if (changes.Any(c => c.Node == node && c.Name == name))
            {
                throw RequestException.Invalid($"{field}.name", $"\"{Echo.Clip(name)}\" of node \"{Echo.Clip(node)}\" is given twice");
            }

            changes.Add(new AttributeChange(field, node, name, value));
        }

        return changes;
    }

    public static string Name(string name, string field)
    {
        if (name.Length == 0)
        {
            throw RequestException.Invalid(field, "an attribute name is required");
        }

        if (name.Length > MaxLength || !NamePattern().IsMatch(name))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(name)}\" is not a valid attribute name: use 1 to {MaxLength} letters, digits, hyphens, underscores, periods, slashes and backslashes");
        }

        return name;
    }

    /// <summary>Empty is allowed: an attribute by name only, for "attribute:NAME exists".</summary>
    public static string Value(string value, string field)
    {
        if (value.Length == 0)
        {
            return value;
        }

        if (value.Length > MaxLength || !ValuePattern().IsMatch(value) || value[0] == ' ' || value[^1] == ' ')
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" is not a valid attribute value: use up to {MaxLength} letters, digits, hyphens, underscores, periods, at signs, slashes, backslashes, colons and spaces, not starting or ending with a space");
        }

        return value;
    }

    /// <summary>Nodes are the only target; ECS's name for them is accepted too.</summary>
    public static void TargetType(string targetType, string field)
    {
        if (targetType is not ("" or "node" or "container-instance"))
        {
            throw RequestException.Invalid(field, $"must be \"node\", not \"{Echo.Clip(targetType)}\"");
        }
    }
}
