using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Agent.Runtime.Probes;

/// <summary>
/// A container's health check kept on the container itself, as a label: the agent's memory does not
/// survive a restart, and the adopted container must be probed as it was defined.
/// </summary>
internal static class HealthCheckLabel
{
    public const string Key = "orchestrator.runtime/health-check";

    /// <summary>Compact JSON: {"test":[...],"intervalMs":30000,"timeoutMs":5000,"retries":3,"startPeriodMs":0}.</summary>
    public static string Write(HealthCheckSpec check) => JsonSerializer.Serialize(new Stored(
        [.. check.Test],
        (long)check.Interval.TotalMilliseconds,
        (long)check.Timeout.TotalMilliseconds,
        check.Retries,
        (long)check.StartPeriod.TotalMilliseconds));

    /// <returns>Null when the labels carry no health check, or one that cannot be read (written by something else).</returns>
    public static HealthCheckSpec? Read(IReadOnlyDictionary<string, string> labels)
    {
        if (!labels.TryGetValue(Key, out var json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<Stored>(json) is { Test: { } test } stored
                ? new HealthCheckSpec(test, TimeSpan.FromMilliseconds(stored.IntervalMs), TimeSpan.FromMilliseconds(stored.TimeoutMs), stored.Retries, TimeSpan.FromMilliseconds(stored.StartPeriodMs))
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Stored(
        [property: JsonPropertyName("test")] string[]? Test,
        [property: JsonPropertyName("intervalMs")] long IntervalMs,
        [property: JsonPropertyName("timeoutMs")] long TimeoutMs,
        [property: JsonPropertyName("retries")] int Retries,
        [property: JsonPropertyName("startPeriodMs")] long StartPeriodMs);
}
