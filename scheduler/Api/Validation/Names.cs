using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>Names as ECS allows them: up to 255 letters, digits, hyphens and underscores.</summary>
internal static partial class Names
{
    public const int MaxLength = 255;

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex NamePattern();

    public static string Require(string value, string field, string what)
    {
        if (value.Length == 0)
        {
            throw RequestException.Invalid(field, $"{what} is required");
        }

        if (value.Length > MaxLength || !NamePattern().IsMatch(value))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" is not a valid {what}: use 1 to {MaxLength} letters, digits, hyphens and underscores");
        }

        return value;
    }

    /// <summary>An empty cluster means "default", as with the ECS CLI.</summary>
    public static string Cluster(string value, string field = "cluster") =>
        value.Length == 0 ? Domain.ClusterRecord.DefaultName : Require(value, field, "cluster name");

    /// <summary>Node names are host names: also dots allowed.</summary>
    public static string Node(string value, string field)
    {
        if (value.Length == 0)
        {
            throw RequestException.Invalid(field, "node name is required");
        }

        if (value.Length > MaxLength || !NodePattern().IsMatch(value))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" is not a valid node name: use 1 to {MaxLength} letters, digits, dots, hyphens and underscores");
        }

        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex NodePattern();

    /// <summary>A task definition reference, "family" or "family:revision": required, bounded (what it names is looked up later).</summary>
    public static string TaskDefinitionReference(string reference, string field = "taskDefinition")
    {
        if (reference.Length == 0)
        {
            throw RequestException.Invalid(field, "is required: \"family\" or \"family:revision\"");
        }

        return Text(reference, field, 300);
    }

    /// <summary>Free text such as a reason or startedBy: bounded, nothing else.</summary>
    public static string Text(string value, string field, int maxLength)
    {
        if (value.Length > maxLength)
        {
            throw RequestException.Invalid(field, $"must be at most {maxLength} characters, not {value.Length}");
        }

        return value;
    }
}
