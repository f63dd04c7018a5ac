using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// How every store writes a record: JSON, enums by name, nulls left out. One format for all stores, so
/// that records read the same from LiteDB, from memory, from a replicated store and from a change set
/// shipped as bytes.
/// </summary>
internal static class StoreJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Write(Change change) =>
        change.Record is { } record ? change.Table.Write(record) : throw new ArgumentException($"a delete of {change.Key} in {change.Table.Name} has no record to write", nameof(change));
}
