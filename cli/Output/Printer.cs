using Google.Protobuf;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Orchestrator.Cli.Output;

/// <summary>
/// Writes answers in the chosen format: JSON is the API's answer itself; tables are drawn by
/// Spectre.Console without borders (columns apart by two spaces, so awk and cut still work), with
/// the JSON field names as headers.
/// </summary>
internal sealed class Printer
{
    private readonly TextWriter _out;
    private readonly IAnsiConsole _console;

    public Printer(TextWriter output, OutputFormat format, bool terminal, int? width)
    {
        _out = output;
        Format = format;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        // Rows are never wrapped inside cells (a header "registeredNodes" cut in two is unreadable, and
        // awk needs one line per row): a row wider than the terminal runs on, as kubectl's do.
        _console.Profile.Width = width ?? Unwrapped;
    }

    private const int Unwrapped = 100_000;

    public OutputFormat Format { get; }

    public bool Json => Format == OutputFormat.Json;

    /// <summary>The whole answer as indented JSON (json output).</summary>
    public void Message(IMessage message) => _out.WriteLine(JsonView.Format(message));

    /// <summary>One JSON object per line, for streams (events --follow, watch).</summary>
    public void MessageLine(IMessage message) => _out.WriteLine(JsonView.Format(message, indented: false));

    public void Line(string text) => _out.WriteLine(text);

    /// <summary>One row per message, one column per JSON field named.</summary>
    public void Table(IEnumerable<IMessage> rows, params string[] columns)
    {
        var table = NewTable(columns);
        foreach (var row in rows)
        {
            var json = JsonView.Element(row);
            table.AddRow(columns.Select(c => (IRenderable)new Text(Dash(JsonView.Cell(json, c)))).ToArray());
        }

        _console.Write(table);
    }

    /// <summary>A one-column table of plain values (names, ARNs) under a header named as the JSON field.</summary>
    public void Column(string header, IEnumerable<string> values)
    {
        var table = NewTable(header);
        foreach (var value in values)
        {
            table.AddRow(new Text(Dash(value)));
        }

        _console.Write(table);
    }

    /// <summary>One message as "field value" rows: every top-level field of its JSON.</summary>
    public void Details(IMessage message)
    {
        var table = NewTable("field", "value");
        foreach (var property in JsonView.Element(message).EnumerateObject())
        {
            table.AddRow(new Text(property.Name), new Text(Dash(JsonView.Cell(property.Value))));
        }

        _console.Write(table);
    }

    private static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.None);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column)) { Padding = new Padding(0, 0, 2, 0) });
        }

        return table;
    }

    // An empty cell would leave a gap that splits the row wrongly for awk; a dash keeps the columns.
    private static string Dash(string value) => value.Length == 0 ? "-" : value;
}
