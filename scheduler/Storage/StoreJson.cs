using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// How every store writes a record: JSON, enums by name, nulls left out. One format for all stores, so
/// that records read the same from LiteDB, from memory and from a replicated store.
/// </summary>
internal static class StoreJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Write(Change change) => JsonSerializer.Serialize(change.Record, change.Table.RecordType, Options);

    public static object Read(string json, StoreTable table, string key) =>
        JsonSerializer.Deserialize(json, table.RecordType, Options) ?? throw new JsonException($"empty record {key} in {table.Name}");
}
