namespace Orchestrator.Cli;

/// <summary>
/// Everything the CLI takes from its process: where output goes, whether it is a terminal, the
/// environment, standard input. Program passes the real console; tests pass writers of their own and
/// the in-process test server's handler, so the same commands run in-process.
/// </summary>
internal sealed record CliContext
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }

    /// <summary>Standard input as bytes (secret values, exec's input, `-` files).</summary>
    public Stream In { get; init; } = Stream.Null;

    /// <summary>Standard output and error as raw bytes, for exec's output; null: decoded into Out and Error.</summary>
    public Stream? RawOut { get; init; }
    public Stream? RawError { get; init; }

    /// <summary>Whether stdout is a terminal: decides the default of --output (table, else json).</summary>
    public bool StdoutIsTerminal { get; init; }

    /// <summary>Whether stdin is a terminal: exec -t puts only a real terminal into raw mode.</summary>
    public bool StdinIsTerminal { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The transport under the channel (tests: the test server's); null: a socket handler of the CLI's own.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>Width of tables; null: the terminal's (or Spectre's default when not a terminal).</summary>
    public int? Width { get; init; }

    /// <summary>The terminal of a real console (raw mode, size, resizes); null in tests.</summary>
    public ITerminal? Terminal { get; init; }

    /// <summary>Whether Ctrl-C and SIGTERM cancel the command (a real process); tests cancel through the token instead.</summary>
    public bool HandleTermination { get; init; }

    public string? Env(string name) => Environment.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    /// <summary>The process's own console.</summary>
    public static CliContext FromConsole()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            environment[(string)entry.Key] = (string?)entry.Value ?? "";
        }

        return new CliContext
        {
            Out = Console.Out,
            Error = Console.Error,
            In = Console.OpenStandardInput(),
            RawOut = Console.OpenStandardOutput(),
            RawError = Console.OpenStandardError(),
            StdoutIsTerminal = !Console.IsOutputRedirected,
            StdinIsTerminal = !Console.IsInputRedirected,
            Environment = environment,
            Terminal = new PosixTerminal(),
            HandleTermination = true,
        };
    }
}
