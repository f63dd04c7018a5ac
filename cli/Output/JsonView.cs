using System.Text.Json;
using Google.Protobuf;

namespace Orchestrator.Cli.Output;

/// <summary>
/// Messages as the API's proto3 JSON (the field names grpcurl shows), with default values written
/// out, so that a script reads "runningCount": 0 rather than a missing field. Tables take their cells
/// from the same JSON, so a column is named and valued exactly as the JSON field is.
/// </summary>
internal static class JsonView
{
    private static readonly JsonFormatter Indented = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());
    private static readonly JsonFormatter Compact = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static string Format(IMessage message, bool indented = true) => (indented ? Indented : Compact).Format(message);

    public static JsonElement Element(IMessage message)
    {
        using var document = JsonDocument.Parse(Compact.Format(message));
        return document.RootElement.Clone();
    }

    /// <summary>A cell: strings as they are, numbers and booleans as JSON has them, lists joined, objects as compact JSON.</summary>
    public static string Cell(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        JsonValueKind.Array when value.EnumerateArray().All(IsScalar) => string.Join(",", value.EnumerateArray().Select(Cell)),
        JsonValueKind.Array when value.GetArrayLength() == 0 => "",
        JsonValueKind.Object when !value.EnumerateObject().Any() => "",
        _ => value.GetRawText(),
    };

    /// <summary>The value of a field, or of a nested message's field by a dotted path ("target.id"); empty when absent.</summary>
    public static string Cell(JsonElement message, string field)
    {
        var value = message;
        foreach (var name in field.Split('.'))
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(name, out value))
            {
                return "";
            }
        }

        return Cell(value);
    }

    private static bool IsScalar(JsonElement value) => value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array);
}
