using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>Tags as ECS checks them: the README lists the same limits.</summary>
internal static class TagValidator
{
    public const int MaxTags = 50;
    public const int MaxKeyLength = 128;
    public const int MaxValueLength = 256;
    public const string ReservedPrefix = "orchestrator:";

    /// <summary>The tags of one request, as a dictionary; empty when none were given.</summary>
    public static IReadOnlyDictionary<string, string> Validate(IReadOnlyList<Contract.Tag> tags, string field = "tags")
    {
        if (tags.Count > MaxTags)
        {
            throw RequestException.Invalid(field, $"at most {MaxTags} tags per resource, got {tags.Count}");
        }

        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < tags.Count; i++)
        {
            var key = Key(tags[i].Key, $"{field}[{i}].key");
            var value = tags[i].Value;
            if (value.Length > MaxValueLength)
            {
                throw RequestException.Invalid($"{field}[{i}].value", $"must be at most {MaxValueLength} characters, not {value.Length}");
            }

            if (!value.All(Allowed))
            {
                throw RequestException.Invalid($"{field}[{i}].value", $"\"{Echo.Clip(value)}\" has a character tags cannot have: use letters, digits, spaces and + - = . _ : / @");
            }

            if (!result.TryAdd(key, value))
            {
                throw RequestException.Invalid($"{field}[{i}].key", $"\"{Echo.Clip(key)}\" is given twice");
            }
        }

        return result;
    }

    public static string Key(string key, string field)
    {
        if (key.Length == 0)
        {
            throw RequestException.Invalid(field, "a tag key is required");
        }

        if (key.Length > MaxKeyLength)
        {
            throw RequestException.Invalid(field, $"must be at most {MaxKeyLength} characters, not {key.Length}");
        }

        if (!key.All(Allowed))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(key)}\" has a character tag keys cannot have: use letters, digits, spaces and + - = . _ : / @");
        }

        if (key.StartsWith(ReservedPrefix, StringComparison.OrdinalIgnoreCase))
        {
            throw RequestException.Invalid(field, $"keys starting with \"{ReservedPrefix}\" are reserved");
        }

        return key;
    }

    // ECS: letters, numbers and spaces representable in UTF-8, and + - = . _ : / @.
    private static bool Allowed(char c) => char.IsLetterOrDigit(c) || c == ' ' || "+-=._:/@".Contains(c, StringComparison.Ordinal);
}
