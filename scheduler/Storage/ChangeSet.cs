using System.Buffers;
using System.Text.Json;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// What one commit changes: an ordered list of typed puts and deletes, each naming its table and key.
/// Stores write it whole or not at all, in this order; memory applies it in the same order; the change
/// feed publishes it with the version its commit produced. It is immutable, and it goes to bytes and
/// back exactly (<see cref="ToBytes"/>, <see cref="FromBytes"/>), so a replicated store can ship it.
/// </summary>
internal sealed class ChangeSet
{
    public static readonly ChangeSet Empty = new([]);

    public ChangeSet(IReadOnlyList<Change> changes)
    {
        foreach (var change in changes)
        {
            if (change.Record is { } record && (!change.Table.RecordType.IsInstanceOfType(record) || change.Table.KeyOf(record) != change.Key))
            {
                throw new ArgumentException($"a put in {change.Table.Name} must be a {change.Table.RecordType.Name} under its own key, not {change.Key}", nameof(changes));
            }
        }

        Changes = changes;
    }

    public IReadOnlyList<Change> Changes { get; }

    public int Count => Changes.Count;

    public bool IsEmpty => Changes.Count == 0;

    /// <summary>The records this change set puts in the table, in order.</summary>
    public IEnumerable<T> Puts<T>(StoreTable<T> table) where T : class =>
        Changes.Where(c => c.Table == table && !c.IsDelete).Select(c => (T)c.Record!);

    /// <summary>The keys this change set deletes from the table, in order.</summary>
    public IEnumerable<string> Deletes(StoreTable table) =>
        Changes.Where(c => c.Table == table && c.IsDelete).Select(c => c.Key);

    /// <summary>
    /// UTF-8 JSON: <c>{"changes":[{"table":"tasks","key":"…","put":{…record…}},{"table":"tasks","key":"…","delete":true}]}</c>,
    /// each record as <see cref="StoreTable.Write"/> writes it.
    /// </summary>
    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("changes");
            foreach (var change in Changes)
            {
                writer.WriteStartObject();
                writer.WriteString("table", change.Table.Name);
                writer.WriteString("key", change.Key);
                if (change.Record is { } record)
                {
                    writer.WritePropertyName("put");
                    JsonSerializer.Serialize(writer, record, change.Table.RecordType, StoreJson.Options);
                }
                else
                {
                    writer.WriteBoolean("delete", true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="JsonException">The bytes are not a change set: malformed, an unknown table, a put under another key.</exception>
    public static ChangeSet FromBytes(ReadOnlySpan<byte> bytes)
    {
        var reader = new Utf8JsonReader(bytes);
        using var document = JsonDocument.ParseValue(ref reader);
        if (!document.RootElement.TryGetProperty("changes", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException("a change set is an object with a \"changes\" array");
        }

        var changes = new List<Change>(list.GetArrayLength());
        foreach (var element in list.EnumerateArray())
        {
            var table = StoreTables.Named(Text(element, "table"));
            var key = Text(element, "key");
            if (element.TryGetProperty("put", out var put))
            {
                var record = put.Deserialize(table.RecordType, StoreJson.Options) ?? throw new JsonException($"a put of {key} in {table.Name} has no record");
                if (table.KeyOf(record) != key)
                {
                    throw new JsonException($"the record put under {key} in {table.Name} has the key {table.KeyOf(record)}");
                }

                changes.Add(new Change(table, key, record));
            }
            else if (element.TryGetProperty("delete", out var delete) && delete.ValueKind == JsonValueKind.True)
            {
                changes.Add(new Change(table, key, null));
            }
            else
            {
                throw new JsonException($"the change of {key} in {table.Name} is neither a put nor a delete");
            }
        }

        return new ChangeSet(changes);
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new JsonException($"a change needs a \"{name}\" string");
}
