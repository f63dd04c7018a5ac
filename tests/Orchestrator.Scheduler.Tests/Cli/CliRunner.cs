using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Cli;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>What one run of the CLI printed and how it exited.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Out);
        return document.RootElement.Clone();
    }

    /// <summary>A table as the CLI draws it (no borders, columns two spaces apart) back into rows by header.</summary>
    public List<Dictionary<string, string>> Table()
    {
        var lines = Out.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        var headers = Columns(lines[0]);
        return lines.Skip(1).Select(line =>
        {
            var cells = Columns(line);
            Assert.That(cells, Has.Length.EqualTo(headers.Length), $"row \"{line}\" has as many cells as the header \"{lines[0]}\"");
            return headers.Zip(cells).ToDictionary(p => p.First, p => p.Second);
        }).ToList();
    }

    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Out}\nstderr:\n{Error}";

    private static string[] Columns(string line) => Regex.Split(line.Trim(), " {2,}");
}

/// <summary>Runs the CLI in-process, as its process would, against a handler (the test server's) with these settings.</summary>
internal static class CliRunner
{
    public static async Task<CliResult> RunAsync(Func<HttpMessageHandler> handler, string? token, string[] args, byte[]? stdin = null, CancellationToken cancel = default,
        Func<CliContext, CliContext>? adjust = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new Dictionary<string, string> { ["ORCHESTRATOR_ADDR"] = "http://localhost" };
        if (token is not null)
        {
            environment["ORCHESTRATOR_TOKEN"] = token;
        }

        var context = new CliContext
        {
            Out = output,
            Error = error,
            In = new MemoryStream(stdin ?? []),
            Environment = environment,
            HttpHandler = handler(),
            Width = 1000,
        };
        var code = await CliApp.RunAsync(args, adjust is null ? context : adjust(context), cancel);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public static Task<CliResult> RunAsync(Integration.SchedulerHost host, params string[] args) =>
        RunAsync(() => host.Server.CreateHandler(), host.AdminToken, args);

    public static string WriteTemp(string directory, string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content, Encoding.UTF8);
        return path;
    }
}
