namespace Orchestrator.Agent.Runtime;

/// <summary>Which of a process's outputs some bytes were written to.</summary>
internal enum OutputStream
{
    Stdout,
    Stderr,
}

/// <summary>Bytes as the engine handed them over: not lines, and a line may span several chunks.</summary>
internal readonly record struct OutputChunk(OutputStream Stream, ReadOnlyMemory<byte> Bytes);

/// <param name="Follow">Keep reading what is written until the container stops.</param>
/// <param name="Tail">Only the last N lines before following; null for all of them.</param>
/// <param name="Since">Only what was written at or after this.</param>
/// <param name="Timestamps">Prefix each line with the engine's RFC 3339 time and a space, as <c>docker logs -t</c> does.</param>
internal sealed record LogReadOptions(bool Follow, int? Tail, DateTimeOffset? Since, bool Timestamps);

/// <param name="Command">The argv, run without a shell.</param>
/// <param name="Environment">NAME=value pairs added to the process's environment (never logged).</param>
internal sealed record ExecSpec(IReadOnlyList<string> Command, bool Tty, bool Interactive, ushort Rows, ushort Columns, IReadOnlyList<string> Environment);

/// <param name="ExitCode">Null while it runs.</param>
internal sealed record ExecState(bool Running, int? ExitCode);

/// <summary>
/// A command running in a container, attached: its output, its input, its terminal size. Disposing it
/// closes the attachment only (with a tty the process gets SIGHUP); <see cref="KillAsync"/> ends it.
/// </summary>
internal interface IExecProcess : IAsyncDisposable
{
    string Id { get; }

    /// <summary>Reads the next output into <paramref name="buffer"/>.</summary>
    /// <returns>Where it was written and how many bytes; a count of 0 when the output has ended.</returns>
    Task<(OutputStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken cancellation);

    Task WriteInputAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellation);

    /// <summary>The process reads end-of-file on its standard input.</summary>
    void CloseInput();

    Task ResizeAsync(ushort rows, ushort columns, CancellationToken cancellation);

    Task<ExecState> InspectAsync(CancellationToken cancellation);

    /// <summary>Kills the process and what it started, when it still runs.</summary>
    /// <returns>True when nothing of it runs any more.</returns>
    Task<bool> KillAsync(CancellationToken cancellation);
}
