using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Api.Validation;

internal static class TaskIds
{
    /// <summary>Task ids are 32 lowercase hex digits; anything else cannot name a task.</summary>
    public static string Require(string value, string field)
    {
        if (value.Length == 0)
        {
            throw RequestException.Invalid(field, "task id is required");
        }

        if (value.Length != 32 || !value.All(char.IsAsciiHexDigitLower))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" is not a task id (32 lowercase hex digits)");
        }

        return value;
    }

    /// <summary>A list of 1 to <paramref name="max"/> task ids.</summary>
    public static IReadOnlyList<string> RequireList(IReadOnlyList<string> values, int max, string field)
    {
        if (values.Count == 0)
        {
            throw RequestException.Invalid(field, "name at least one task id");
        }

        Limits.Count(values, max, field);
        return [.. values.Select((t, i) => Require(t, $"{field}[{i}]"))];
    }
}
